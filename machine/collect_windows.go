package machine

import (
	"fmt"

	"github.com/yusufpapurcu/wmi"
	"golang.org/x/sys/windows/registry"

	"github.com/seatkey/seatkey/fingerprint"
)

// collectOS reads this Windows machine: WMI queries and the registry fill a
// wmiRecord, which profileFromWMI (pure, tested on every OS from fixtures)
// turns into the profile; then the TPM through TBS. The queries use ghw's own
// WMI client directly because ghw's Windows readers lack properties seatkey
// needs (WWNs, permanent MACs, the domain) and fail on WMI that lacks any
// field they load.
func collectOS(o Options) (*fingerprint.Profile, error) {
	if o.Root != "" {
		return nil, fmt.Errorf("machine: %s: on Windows, Root must be a recorded machine (.json, or a macOS record)", o.Root)
	}
	rec := queryWMI()
	p := profileFromWMI(rec)
	switch o.TPM {
	case "none":
		p.Notes = append(p.Notes, "TPM disabled")
	case "":
		collectTPM(p, "", false)
	default:
		return nil, fmt.Errorf("%w: %s: on Windows the TPM is reached through TBS, not a path", ErrTPM, o.TPM)
	}
	return p, nil
}

func queryWMI() *wmiRecord {
	c := &wmi.Client{AllowMissingFields: true}
	r := &wmiRecord{}
	q := func(dst any, class string, namespace ...any) {
		var args []any
		if len(namespace) > 0 {
			args = append([]any{nil}, namespace...)
		}
		if err := c.Query(wmi.CreateQuery(dst, "", class), dst, args...); err != nil {
			r.Notes = append(r.Notes, fmt.Sprintf("WMI %s unreadable: %v", class, err))
		}
	}
	q(&r.Processor, "Win32_Processor")
	q(&r.BaseBoard, "Win32_BaseBoard")
	q(&r.Product, "Win32_ComputerSystemProduct")
	q(&r.BIOS, "Win32_BIOS")
	q(&r.System, "Win32_ComputerSystem")
	q(&r.DiskDrive, "Win32_DiskDrive")
	q(&r.PhysicalDisk, "MSFT_PhysicalDisk", `root\Microsoft\Windows\Storage`)
	q(&r.NetAdapter, "MSFT_NetAdapter", `root\StandardCimv2`)
	if len(r.NetAdapter) == 0 {
		q(&r.NetworkAdapter, "Win32_NetworkAdapter")
	}
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, `SOFTWARE\Microsoft\Cryptography`, registry.QUERY_VALUE|registry.WOW64_64KEY)
	if err == nil {
		r.MachineGuid, _, err = k.GetStringValue("MachineGuid")
		k.Close()
	}
	if err != nil {
		r.Notes = append(r.Notes, "MachineGuid unreadable: "+err.Error())
	}
	return r
}
