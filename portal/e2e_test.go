package portal

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/seatkey/seatkey/issuer"
	"github.com/seatkey/seatkey/license"
	"github.com/seatkey/seatkey/verifier"
)

// chromium finds the browser for the end-to-end tests: $SEATKEY_CHROMIUM,
// else Debian's chromium. Without one the test skips, or fails under CI.
func chromium(t *testing.T) string {
	for _, p := range []string{os.Getenv("SEATKEY_CHROMIUM"), "/usr/bin/chromium"} {
		if p != "" {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed (apt-get install chromium); CI must run the browser tests")
	}
	t.Skip("chromium is not installed (apt-get install chromium): skipping the browser tests")
	return ""
}

// browserCtx starts headless chromium with a fresh profile.
func browserCtx(t *testing.T) context.Context {
	exe := chromium(t)
	root, stop := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(stop)
	alloc, cancelAlloc := chromedp.NewExecAllocator(root,
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	// Start the browser now, without a step's deadline (which would stop it).
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", exe, err)
	}
	return ctx
}

// shots writes numbered screenshots to $SEATKEY_SCREENSHOTS (default: a
// temporary directory).
type shots struct {
	t   *testing.T
	dir string
}

func newShots(t *testing.T) *shots {
	dir := os.Getenv("SEATKEY_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return &shots{t, dir}
}

func (s *shots) take(ctx context.Context, name string) {
	s.t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		s.t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(s.dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		s.t.Fatal(err)
	}
	s.t.Logf("screenshot %s", path)
}

// do runs one step of a flow, with a deadline.
func do(t *testing.T, ctx context.Context, step string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", step, err)
	}
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// TestBrowserCustomerReallocates: a customer signs in through the emailed
// link, reads the License Report, downloads the CSV and reallocates two
// machines through every step, in headless chromium.
func TestBrowserCustomerReallocates(t *testing.T) {
	ctx := browserCtx(t)
	sh := newShots(t)
	e := newEnv(t, RateLimit{})
	base := e.srv.URL

	do(t, ctx, "open the sign-in page", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("signin")))
	sh.take(ctx, "01-customer-signin")
	a11y(t, ctx, "sign-in")
	// Keyboard only: type the key and press Enter.
	do(t, ctx, "request a link", chromedp.Focus(chromedp.ID("key")), chromedp.SendKeys(chromedp.ID("key"), e.acmeSub.String()+"\r"),
		chromedp.WaitVisible(chromedp.ID("sent")))
	sh.take(ctx, "02-customer-link-sent")
	m := e.smtp.next(t)
	if m.To != "it@acme.example" {
		t.Fatalf("link went to %s", m.To)
	}
	do(t, ctx, "open the link", chromedp.Navigate(linkIn(t, m)), chromedp.WaitVisible(chromedp.ID("link-page")))
	sh.take(ctx, "03-customer-link-button")
	do(t, ctx, "press sign in", chromedp.Click(chromedp.CSS(`form[action="/signin"] button`)), chromedp.WaitVisible(chromedp.ID("report")))
	sh.take(ctx, "04-customer-license-report")
	a11y(t, ctx, "report")
	report := text(t, ctx, "main")
	for _, want := range []string{e.acmeSub.String(), "4 of 4", "through 2027-05-31", "build-server", "<script>alert(1)</script>", "per-deployment license", "Renewing support"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q", want)
		}
	}

	// Download CSV: the browser saves it; it must equal the issuer's CSV.
	dl := t.TempDir()
	progress := chromedp.Events(ctx, browser.DownloadProgress)
	do(t, ctx, "download CSV", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dl, EventsEnabled: ptrTo(true)})
		return err
	}), chromedp.Click(chromedp.CSS(`a[href="/report.csv"]`)))
	var guid string
	for ev, err := range progress {
		if err != nil {
			t.Fatal(err)
		}
		if ev.State == browser.DownloadProgressStateCompleted {
			guid = ev.GUID
			break
		}
		if ev.State == browser.DownloadProgressStateCanceled {
			t.Fatal("download canceled")
		}
	}
	got, err := os.ReadFile(filepath.Join(dl, guid))
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	e.l.WriteDeviceCSV(&want, issuer.Filter{Customer: "Acme"})
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("downloaded CSV differs from seatkey report --csv:\n%s\nwant:\n%s", got, want.Bytes())
	}

	// Reallocate Licenses: tick two machines, add them to the list.
	a, b := e.acmeDevs[0], e.acmeDevs[1]
	do(t, ctx, "select machines",
		chromedp.Click(chromedp.ID("sel-"+a.String())), chromedp.Click(chromedp.ID("sel-"+b.String())),
		chromedp.Click(chromedp.ID("add-to-list")), chromedp.WaitVisible(chromedp.ID("decommission-list")))
	sh.take(ctx, "05-customer-decommission-list")
	list := text(t, ctx, "#decommission-list")
	if !strings.Contains(list, "build-server") || !strings.Contains(list, "old-laptop") || strings.Contains(list, "render-01") {
		t.Fatalf("Decommission List: %s", list)
	}
	do(t, ctx, "press Decommission", chromedp.Click(chromedp.ID("decommission")), chromedp.WaitVisible(chromedp.ID("terms")))
	sh.take(ctx, "06-customer-accept-terms")
	a11y(t, ctx, "terms")
	if st := e.status(t, a); st != "active" {
		t.Fatalf("decommissioned before the terms were accepted: %s", st)
	}
	do(t, ctx, "accept and confirm", chromedp.Click(chromedp.ID("accept")), chromedp.Click(chromedp.ID("confirm")), chromedp.WaitVisible(chromedp.ID("done")))
	sh.take(ctx, "07-customer-done")
	done := text(t, ctx, "main")
	if !strings.Contains(done, "2 machines were decommissioned") || !strings.Contains(done, "2 of 4 seats in use, 2 free") {
		t.Errorf("done page: %s", done)
	}
	for _, d := range []string{a.String(), b.String()} {
		if !strings.Contains(done, d) {
			t.Errorf("done page lacks %s", d)
		}
	}
	if e.status(t, a) != "decommissioned" || e.status(t, b) != "decommissioned" || e.status(t, e.acmeDevs[2]) != "active" {
		t.Errorf("ledger: %s %s %s", e.status(t, a), e.status(t, b), e.status(t, e.acmeDevs[2]))
	}
	conf := e.smtp.next(t)
	if conf.To != "it@acme.example" || !strings.Contains(conf.Data, "Subject: 2 machines decommissioned") ||
		!strings.Contains(conf.Data, a.String()) || !strings.Contains(conf.Data, "uses 2 of 4 seats") {
		t.Errorf("confirmation email:\n%s", conf.Data)
	}

	// The report afterwards, on a phone-sized screen.
	do(t, ctx, "report on a phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile),
		chromedp.Navigate(base+"/report"), chromedp.WaitVisible(chromedp.ID("report")))
	sh.take(ctx, "08-customer-report-phone")
	if r := text(t, ctx, "main"); !strings.Contains(r, "2 of 4") {
		t.Errorf("report after reallocation lacks 2 of 4")
	}
}

// TestBrowserOperator: an operator signs in, unsuspends a customer, revokes
// a license and publishes the next revocation list, in headless chromium.
func TestBrowserOperator(t *testing.T) {
	ctx := browserCtx(t)
	sh := newShots(t)
	e := newEnv(t, RateLimit{})
	if err := e.l.AddOperator("alice", []byte("correct horse battery"), false); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "open ops", chromedp.Navigate(e.srv.URL+"/ops/"), chromedp.WaitVisible(chromedp.ID("ops-login")))
	sh.take(ctx, "10-operator-signin")
	do(t, ctx, "sign in", chromedp.SendKeys(chromedp.ID("name"), "alice"), chromedp.SendKeys(chromedp.ID("password"), "correct horse battery\r"),
		chromedp.WaitVisible(chromedp.ID("ops")))
	sh.take(ctx, "11-operator-dashboard")
	a11y(t, ctx, "operations")
	if d := text(t, ctx, "#h-near + *"); !strings.Contains(d, "Acme") || !strings.Contains(d, "4 of 4 (100%)") {
		t.Errorf("near-limit table: %s", d)
	}
	if d := text(t, ctx, "main"); !strings.Contains(d, "Initech") {
		t.Fatalf("dashboard lacks the suspended customer: %s", d)
	}
	do(t, ctx, "unsuspend", chromedp.Click(chromedp.CSS(`button[aria-label="Unsuspend Initech"]`)),
		chromedp.WaitVisible(chromedp.ID("done-unsuspended")))
	sh.take(ctx, "12-operator-unsuspended")
	if names, _, _ := e.l.SuspendedCustomers(); len(names) != 0 {
		t.Errorf("still suspended: %v", names)
	}
	do(t, ctx, "revoke", chromedp.SendKeys(chromedp.ID("rv-license"), e.globex.String()),
		chromedp.SetValue(chromedp.ID("rv-reason"), "refunded"),
		chromedp.Click(chromedp.CSS(`form[action="/ops/revoke"] button`)),
		chromedp.WaitVisible(chromedp.ID("done-revoked")))
	sh.take(ctx, "13-operator-revoked")
	revs, _ := e.l.ActiveRevocations()
	found := false
	for _, r := range revs {
		found = found || (r.ID == e.globex.String() && r.Reason == license.ReasonRefunded)
	}
	if !found {
		t.Fatalf("revocation not in the ledger: %v", revs)
	}
	do(t, ctx, "publish", chromedp.Click(chromedp.CSS(`form[action="/ops/publish"] button`)), chromedp.WaitVisible(chromedp.ID("published")))
	sh.take(ctx, "14-operator-published-list")
	pub := text(t, ctx, "#published")
	if !strings.Contains(pub, "Revocation list 1") {
		t.Errorf("published section: %s", pub)
	}
	armored, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID("armor")))
	if err != nil {
		t.Fatal(err)
	}
	list, err := verifier.ParseRevocationList([]byte(armored), verifier.NewKeyring(e.key.Public()))
	if err != nil {
		t.Fatalf("published list does not verify: %v", err)
	}
	if _, ok := list.License(e.globex); !ok || list.Sequence != 1 {
		t.Errorf("list %d does not revoke %s", list.Sequence, e.globex)
	}
}

func ptrTo[T any](v T) *T { return &v }

// a11y checks what a page owes its readers: a language, a label for every
// control, a scope on every header cell, no script, text contrast of at
// least 4.5:1 (WCAG AA), and keyboard focus that reaches the skip link first.
func a11y(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	const check = `(() => {
		const bad = [];
		if (document.documentElement.lang !== "en") bad.push("no lang");
		for (const e of document.querySelectorAll("input:not([type=hidden]), select, textarea, button"))
			if (e.tagName === "BUTTON" ? !(e.textContent.trim() || e.getAttribute("aria-label")) : !(e.labels && e.labels.length))
				bad.push("unlabelled " + e.tagName + " " + (e.id || e.name));
		for (const th of document.querySelectorAll("th"))
			if (!th.getAttribute("scope")) bad.push("th without scope: " + th.textContent.trim());
		if (document.querySelector("script")) bad.push("a script");
		// WCAG AA: text contrast at least 4.5:1 against its background.
		const rgb = c => c.match(/[\d.]+/g).map(Number);
		const lum = c => { const [r, g, b] = rgb(c).slice(0, 3).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; }); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
		const bg = e => { for (; e; e = e.parentElement) { const c = getComputedStyle(e).backgroundColor; if (rgb(c).length < 4 || rgb(c)[3] > 0) return c; } return "rgb(255, 255, 255)"; };
		for (const e of document.querySelectorAll("body *")) {
			if (![...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
			const r = e.getBoundingClientRect(); if (!r.width || !r.height || e.closest(".sr-only, .skip")) continue;
			const [a, b] = [lum(getComputedStyle(e).color), lum(bg(e))];
			const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
			if (ratio < 4.5) bad.push("contrast " + ratio.toFixed(2) + " for " + e.tagName + " " + e.textContent.trim().slice(0, 30));
		}
		return bad;
	})()`
	bad, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](check))
	if err != nil {
		t.Fatalf("%s: %v", page, err)
	}
	for _, b := range bad {
		t.Errorf("%s: %s", page, b)
	}
	do(t, ctx, page+": tab", chromedp.KeyEvent("\t"))
	focused, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.className + ":" + getComputedStyle(document.activeElement).outlineStyle`))
	if err != nil || focused != "skip:solid" {
		t.Errorf("%s: first Tab focuses %q (want the skip link, with a visible outline)", page, focused)
	}
}
