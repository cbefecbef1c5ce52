package license_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/seatkey/seatkey/license"
)

// Lookups in a list large enough to use the bucket index agree with a map.
func TestRevocationLookupAgreesWithMap(t *testing.T) {
	now := time.Unix(1_780_000_000, 0).UTC()
	want := map[license.ID]license.Reason{}
	var es []license.Entry
	add := func(id license.ID) {
		if _, dup := want[id]; dup {
			return
		}
		r := []license.Reason{0, 2, 3, 4, 5}[len(es)%5]
		want[id] = r
		es = append(es, license.Entry{ID: append([]byte(nil), id[:]...), At: now, Reason: r})
	}
	add(license.ID{})                          // lowest bucket
	add(license.ID{0xff, 0xff, 0xff, 0xff, 1}) // highest bucket
	for len(es) < 20000 {
		var id license.ID
		rand.Read(id[:])
		add(id)
	}
	rl, err := license.NewRevocations("v", 1, now, now.Add(time.Hour), es, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := rl.Marshal()
	parsed, err := license.ParseRevocations(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []*license.Revocations{rl, parsed} {
		for id, r := range want {
			e, ok := l.License(id)
			if !ok || e.Reason != r || !bytes.Equal(e.ID, id[:]) || !e.At.Equal(now) {
				t.Fatalf("%x: %v %+v", id, ok, e)
			}
		}
		for i := 0; i < 20000; i++ {
			var id license.ID
			rand.Read(id[:])
			_, in := want[id]
			if _, ok := l.License(id); ok != in {
				t.Fatalf("miss %x reported as present", id)
			}
		}
	}
	if n, _, _ := parsed.Len(); n != 20000 {
		t.Fatalf("Len %d", n)
	}
}

func TestRevocationListStrict(t *testing.T) {
	now := time.Unix(1_780_000_000, 0).UTC()
	id := license.NewID()
	if _, err := license.NewRevocations("v", 0, now, now.Add(time.Hour), nil, nil, nil); !errors.Is(err, license.ErrRevocationList) {
		t.Fatalf("sequence 0: %v", err)
	}
	if _, err := license.NewRevocations("v", 1, now, now.Add(time.Hour), []license.Entry{{ID: id[:]}, {ID: id[:]}}, nil, nil); !errors.Is(err, license.ErrRevocationList) {
		t.Fatalf("duplicate: %v", err)
	}
	if _, err := license.NewRevocations("v", 1, now, now, nil, nil, nil); !errors.Is(err, license.ErrRevocationList) {
		t.Fatalf("next update not after issue: %v", err)
	}
	rl, _ := license.NewRevocations("v", 1, now, now.Add(time.Hour), []license.Entry{{ID: id[:], At: now}}, nil, nil)
	p, _ := rl.Marshal()
	if _, err := license.ParseRevocations(append(p, 0)); !errors.Is(err, license.ErrTrailing) {
		t.Fatalf("trailing: %v", err)
	}
	// Entries out of order inside the byte string (swap two) are refused.
	id2 := id
	id2[0] ^= 0x80
	rl2, _ := license.NewRevocations("v", 1, now, now.Add(time.Hour), []license.Entry{{ID: id[:], At: now}, {ID: id2[:], At: now}}, nil, nil)
	p2, _ := rl2.Marshal()
	i := bytes.Index(p2, id[:])
	j := bytes.Index(p2, id2[:])
	copy(p2[i:], id2[:])
	copy(p2[j:], id[:])
	if _, err := license.ParseRevocations(p2); !errors.Is(err, license.ErrRevocationList) {
		t.Fatalf("unsorted entries: %v", err)
	}
}
