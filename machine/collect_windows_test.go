package machine

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/seatkey/seatkey/fingerprint"
)

// The thin Windows layer queries WMI and the registry without failing, and
// what it records reads as a profile. Under Wine (internal/winetest runs it)
// WMI returns rows but no property values (Wine 8's SWbemObject has no
// dynamic properties) and lacks the MSFT_ classes, so this checks the
// plumbing, not the values: those are tested from fixtures on every OS.
func TestQueryWMI(t *testing.T) {
	rec := queryWMI()
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("recorded:\n%s", b)
	if len(rec.Processor) == 0 || len(rec.System) == 0 {
		t.Errorf("no Win32_Processor or Win32_ComputerSystem rows: %v", rec.Notes)
	}
	if rec.MachineGuid == "" {
		t.Errorf("MachineGuid unread: %v", rec.Notes)
	}
	if len(rec.MachineGuid) != 36 {
		t.Errorf("MachineGuid %q is not a GUID", rec.MachineGuid)
	}
	p := profileFromWMI(rec)
	if got := p.Values[fingerprint.MachineID]; len(got) != 1 || got[0] != strings.ToLower(rec.MachineGuid) {
		t.Errorf("machine-id %q from MachineGuid %q", got, rec.MachineGuid)
	}
}
