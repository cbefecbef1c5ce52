package issuer

import (
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"

	"github.com/seatkey/seatkey/activation"
)

// ActivateBatch processes requests in order exactly as that many calls of
// Activate would, but commits them together: one transaction (one disk
// sync) for the whole batch instead of one per request. Each request runs
// inside a savepoint, so a refused one changes nothing while the others
// stand. A request that would suspend its customer ends the transaction
// there; the suspension is recorded and the rest continue in a new one, so
// later requests see it. If a transaction cannot commit, every request in it
// gets that error and none of its activations exists.
//
// results[i] and errs[i] answer requests[i]; exactly one of them is non-nil.
// It is how the licensing server turns many concurrent activations into few
// commits.
func (l *Ledger) ActivateBatch(key *Key, requests [][]byte) (results []*Result, errs []error) {
	results, errs = make([]*Result, len(requests)), make([]error, len(requests))
	for start := 0; start < len(requests); {
		var se *suspendError
		end := len(requests)
		err := l.tx(func(tx *sql.Tx) error {
			for j := start; j < len(requests); j++ {
				results[j], errs[j] = nil, nil
				req, err := activation.ParseRequest(requests[j])
				if err != nil {
					errs[j] = fmt.Errorf("%w: %w", ErrRequestRefused, err)
					continue
				}
				canon, _ := req.MarshalBinary()
				h := sha256.Sum256(canon)
				if _, err := tx.Exec(`SAVEPOINT activation`); err != nil {
					return err
				}
				r, err := l.activate(tx, key, req, h[:])
				if err != nil {
					if _, rerr := tx.Exec(`ROLLBACK TO activation`); rerr != nil {
						return rerr
					}
				}
				if _, rerr := tx.Exec(`RELEASE activation`); rerr != nil {
					return rerr
				}
				if errors.As(err, &se) {
					end = j
					return nil
				}
				results[j], errs[j] = r, err
			}
			return nil
		})
		if err != nil {
			for j := start; j < end; j++ {
				results[j], errs[j] = nil, err
			}
			if se != nil {
				errs[end] = err
			}
			return results, errs
		}
		if se == nil {
			break
		}
		errs[end] = l.suspend(se)
		start = end + 1
	}
	return results, errs
}
