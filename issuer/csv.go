package issuer

import (
	"bufio"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/seatkey/seatkey/license"
)

// SummaryHeader is the CSV header of the per-license summary rows.
var SummaryHeader = []string{"license", "customer", "product", "seats", "used", "overage_devices", "amount_due"}

// WriteDeviceCSV writes the device table alone (DeviceHeader, then one row
// per device), streaming: every row has the header's width, so a spreadsheet
// or csv reader takes it as it is. Customer text is quoted and neutralised
// (see appendCSVField).
func (l *Ledger) WriteDeviceCSV(w io.Writer, f Filter) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	bw.WriteString(strings.Join(DeviceHeader, ",") + "\n")
	var row []byte
	err := l.EachDevice(f, func(d *Device) error {
		row = appendDeviceRow(row[:0], d)
		_, err := bw.Write(row)
		return err
	})
	if err != nil {
		return err
	}
	return bw.Flush()
}

// WriteSummaryCSV writes the summary table alone: SummaryHeader, then one row
// per license.
func (l *Ledger) WriteSummaryCSV(w io.Writer, f Filter) error {
	sums, err := l.Summaries(f)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	bw.WriteString(strings.Join(SummaryHeader, ",") + "\n")
	var row []byte
	for _, s := range sums {
		row = appendSummaryRow(row[:0], &s)
		bw.Write(row)
	}
	return bw.Flush()
}

func appendDeviceRow(row []byte, d *Device) []byte {
	row = license.AppendID(row, "lic", d.License[:])
	row = append(row, ',')
	row = appendCSVField(row, d.Customer)
	row = append(row, ',')
	row = license.AppendID(row, "dev", d.ID[:])
	row = append(row, ',')
	row = appendCSVField(row, d.Label)
	row = append(row, ',')
	row = append(row, d.Status...)
	row = append(row, ',')
	row = strconv.AppendBool(row, d.Failover)
	row = append(row, ',')
	row = d.FirstActivated.AppendFormat(row, time.RFC3339)
	row = append(row, ',')
	row = d.LastActivated.AppendFormat(row, time.RFC3339)
	row = append(row, ',')
	row = strconv.AppendBool(row, d.Overage)
	row = append(row, ',')
	row = appendMoney(row, d.PriceCents)
	return append(row, '\n')
}

func appendSummaryRow(row []byte, s *Summary) []byte {
	row = license.AppendID(row, "lic", s.License[:])
	row = append(row, ',')
	row = appendCSVField(row, s.Customer)
	row = append(row, ',')
	row = appendCSVField(row, s.Product)
	row = append(row, ',')
	row = strconv.AppendInt(row, int64(s.Seats), 10)
	row = append(row, ',')
	row = strconv.AppendInt(row, int64(s.Used), 10)
	row = append(row, ',')
	row = strconv.AppendInt(row, int64(s.Overage), 10)
	row = append(row, ',')
	row = appendMoney(row, s.AmountCents)
	return append(row, '\n')
}
