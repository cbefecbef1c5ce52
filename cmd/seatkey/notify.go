package main

import (
	"context"
	"fmt"

	"github.com/seatkey/seatkey/issuer"
)

func cmdNotify(e *env, args []string) error {
	fs := e.flags("notify", "--ledger DB (--webhook URL [--webhook-secret-file F] | --smtp HOST:PORT --from ADDR) [--json]", `
Delivers the notifications the ledger has recorded (usage nearing the seat
limit, reaching it, each overage device) to the customers' contacts: as a JSON
POST to a webhook (retried), or as email over SMTP. What fails stays pending
for the next run; nothing is lost. Exit 1 if any delivery failed.`)
	ledgerPath := ledgerFlag(fs)
	webhook := fs.String("webhook", "", "POST each notification to `URL`")
	secretFile := fs.String("webhook-secret-file", "", "sign webhook requests (Seatkey-Signature, HMAC-SHA256) with the secret in `FILE` (mode 0600)")
	smtpAddr := fs.String("smtp", "", "send email through `HOST:PORT`")
	from := fs.String("from", "", "sender `ADDRESS` for email")
	jsonOut := fs.Bool("json", false, "print the counts as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	var n issuer.Notifier
	switch {
	case *webhook != "" && *smtpAddr == "":
		wh := &issuer.Webhook{URL: *webhook}
		if *secretFile != "" {
			var err error
			if wh.Secret, err = readSecret("webhook secret", *secretFile); err != nil {
				return err
			}
		}
		n = wh
	case *smtpAddr != "" && *webhook == "" && *from != "":
		n = &issuer.SMTP{Addr: *smtpAddr, From: *from}
	default:
		return usagef("need --webhook URL, or --smtp HOST:PORT with --from")
	}
	var ok, failed int
	if err := e.withLedger(*ledgerPath, func(l *issuer.Ledger) (err error) {
		ok, failed, err = l.Deliver(context.Background(), n)
		return err
	}); err != nil {
		return err
	}
	if *jsonOut {
		e.printJSON(map[string]int{"delivered": ok, "failed": failed})
	} else {
		fmt.Fprintf(e.stdout, "%d delivered, %d failed (kept for the next run)\n", ok, failed)
	}
	if failed > 0 {
		return fmt.Errorf("%d notifications not delivered", failed)
	}
	return nil
}
