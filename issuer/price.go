package issuer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// A price list says what one seat of each edition costs, per product and
// major version. It is a JSON file the vendor keeps beside the ledger:
//
//	{
//	  "currency": "USD",
//	  "products": {
//	    "ledgerpro": {
//	      "4": {"standard": "100.00", "professional": "250.00", "enterprise": "400.00"}
//	    }
//	  }
//	}
//
// Prices are decimal strings with at most two decimals (never floats). An
// edition is higher than another when its price per seat is higher; two
// editions of one major may not cost the same.

// Upgrade refusals.
var (
	ErrPriceList  = errors.New("price list is not valid")
	ErrNoPrice    = errors.New("no price for this product, major or edition")
	ErrDowngrade  = errors.New("not an upgrade")
	ErrCrossMajor = errors.New("upgrades across major versions are not priced as a difference")
)

// MaxPriceListSize bounds a price list file.
const MaxPriceListSize = 1 << 20

// PriceList is a parsed price list.
type PriceList struct {
	Currency string
	prices   map[string]map[int]map[string]Money // product → major → edition → per seat
}

// Money is an exact amount in hundredths of the currency unit.
type Money int64

// ParseMoney reads "123", "123.4" or "123.45" (no sign, no exponent).
func ParseMoney(s string) (Money, error) {
	whole, frac, dot := strings.Cut(s, ".")
	if whole == "" || len(whole) > 12 || strings.Trim(whole, "0123456789") != "" ||
		(dot && (frac == "" || len(frac) > 2 || strings.Trim(frac, "0123456789") != "")) {
		return 0, fmt.Errorf("%w: amount %q is not a decimal with at most two decimals", ErrPriceList, s)
	}
	w, _ := strconv.ParseInt(whole, 10, 64)
	f := int64(0)
	if dot {
		f, _ = strconv.ParseInt((frac + "0")[:2], 10, 64)
	}
	return Money(w*100 + f), nil
}

// String shows the amount with two decimals.
func (m Money) String() string {
	sign := ""
	if m < 0 {
		sign, m = "-", -m
	}
	return fmt.Sprintf("%s%d.%02d", sign, m/100, m%100)
}

// ParsePriceList reads a price list strictly: unknown fields, duplicate
// editions at one price, bad majors and bad amounts are refused.
func ParsePriceList(r io.Reader) (*PriceList, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxPriceListSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxPriceListSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrPriceList, MaxPriceListSize)
	}
	var raw struct {
		Currency string                                  `json:"currency"`
		Products map[string]map[string]map[string]string `json:"products"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPriceList, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: data after the price list", ErrPriceList)
	}
	if len(raw.Currency) != 3 || strings.ToUpper(raw.Currency) != raw.Currency {
		return nil, fmt.Errorf("%w: currency must be an ISO 4217 code such as USD", ErrPriceList)
	}
	pl := &PriceList{Currency: raw.Currency, prices: map[string]map[int]map[string]Money{}}
	for product, majors := range raw.Products {
		pl.prices[product] = map[int]map[string]Money{}
		for ms, editions := range majors {
			m, err := strconv.Atoi(ms)
			if err != nil || m < 0 || strconv.Itoa(m) != ms {
				return nil, fmt.Errorf("%w: %s: major %q is not a number", ErrPriceList, product, ms)
			}
			seen := map[Money]string{}
			pl.prices[product][m] = map[string]Money{}
			for ed, amount := range editions {
				p, err := ParseMoney(amount)
				if err != nil {
					return nil, fmt.Errorf("%s %d %s: %w", product, m, ed, err)
				}
				if other, dup := seen[p]; dup {
					return nil, fmt.Errorf("%w: %s %d: %s and %s cost the same, so neither is higher", ErrPriceList, product, m, other, ed)
				}
				seen[p] = ed
				pl.prices[product][m][ed] = p
			}
		}
	}
	return pl, nil
}

// Price is one seat of edition in product's major.
func (pl *PriceList) Price(product string, major int, edition string) (Money, error) {
	p, ok := pl.prices[product][major][edition]
	if !ok {
		eds := slices.Sorted(func(yield func(string) bool) {
			for e := range pl.prices[product][major] {
				if !yield(e) {
					return
				}
			}
		})
		return 0, fmt.Errorf("%w: %s %d.x %q (editions priced: %s)", ErrNoPrice, product, major, edition, strings.Join(eds, ", "))
	}
	return p, nil
}

// Quote is what an upgrade costs.
type Quote struct {
	Currency    string `json:"currency"`
	FromEdition string `json:"from_edition"`
	ToEdition   string `json:"to_edition"`
	Seats       int    `json:"seats"`       // seats already licensed
	AddedSeats  int    `json:"added_seats"` // seats bought now
	PerSeat     Money  `json:"edition_difference_per_seat"`
	Amount      Money  `json:"amount_due"` // (new − current) × seats + added × new
}

// MarshalText writes the decimal form.
func (m Money) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// QuoteUpgrade prices moving a license of product and major from one edition
// (and seat count) to another: the difference per existing seat, plus the
// full new price for each added seat. The same edition with added seats is a
// purchase of seats; a cheaper edition, an unknown one, or fewer seats is
// refused.
func (pl *PriceList) QuoteUpgrade(product string, major int, from, to string, seats, newSeats int) (*Quote, error) {
	if major == 0 {
		return nil, fmt.Errorf("%w: the license names no major version, so no price list applies", ErrNoPrice)
	}
	cur, err := pl.Price(product, major, from)
	if err != nil {
		return nil, err
	}
	next, err := pl.Price(product, major, to)
	if err != nil {
		for m := range pl.prices[product] {
			if _, ok := pl.prices[product][m][to]; ok && m != major {
				return nil, fmt.Errorf("%w: %q exists for %s %d.x, the license is for %d.x", ErrCrossMajor, to, product, m, major)
			}
		}
		return nil, err
	}
	switch {
	case newSeats < seats:
		return nil, fmt.Errorf("%w: %d seats is fewer than the %d licensed", ErrDowngrade, newSeats, seats)
	case next < cur:
		return nil, fmt.Errorf("%w: %s (%s per seat) is below %s (%s per seat)", ErrDowngrade, to, next, from, cur)
	case next == cur && newSeats == seats:
		return nil, fmt.Errorf("%w: already %s with %d seats", ErrDowngrade, from, seats)
	}
	q := &Quote{Currency: pl.Currency, FromEdition: from, ToEdition: to, Seats: seats, AddedSeats: newSeats - seats, PerSeat: next - cur}
	a, ok1 := mulMoney(q.PerSeat, seats)
	b, ok2 := mulMoney(next, q.AddedSeats)
	if !ok1 || !ok2 || a > math.MaxInt64-b {
		return nil, fmt.Errorf("%w: the amount overflows", ErrPriceList)
	}
	q.Amount = a + b
	return q, nil
}

func mulMoney(m Money, n int) (Money, bool) {
	if m == 0 || n == 0 {
		return 0, true
	}
	if int64(n) > math.MaxInt64/int64(m) {
		return 0, false
	}
	return m * Money(n), true
}
