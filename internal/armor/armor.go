// Package armor implements seatkey's two text forms of a binary object: the
// armored file (PEM-like, strict base64 in 64-column lines) and the single line
// for pasting ("seatkey-<label>:" followed by unpadded base64url).
//
// SPEC.md section 6 is the normative description, including the order in
// which a reader checks text and the error each failure gives.
package armor

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrArmor is text that is not a well-formed seatkey text form, or that
	// names a label this version does not know.
	ErrArmor = errors.New("malformed armor (seatkey text form)")
	// ErrWrongType is a well-formed object of another kind than the one
	// expected (by armor label, or by token type in the protected header).
	ErrWrongType = errors.New("wrong type of seatkey object")
	// ErrTooLarge is an object larger than its type allows, in any form.
	ErrTooLarge = errors.New("seatkey object too large")
)

// The armor labels, one per kind of object (SPEC.md section 6).
const (
	License           = "LICENSE"
	Activation        = "ACTIVATION"
	RevocationList    = "REVOCATION LIST"
	PublicKey         = "PUBLIC KEY"
	PrivateKey        = "PRIVATE KEY"
	Fingerprint       = "FINGERPRINT"
	ActivationRequest = "ACTIVATION REQUEST"
	StateReset        = "STATE RESET"
	ReturnProof       = "RETURN PROOF"
)

// Labels lists every label this version knows.
var Labels = []string{License, Activation, RevocationList, PublicKey, PrivateKey, Fingerprint, ActivationRequest, StateReset, ReturnProof}

// MaxSize is the largest binary form of every object except a revocation list.
const MaxSize = 64 << 10

// MaxRevocationListSize is the largest binary form of a revocation list.
const MaxRevocationListSize = 64 << 20

// Limit returns the largest binary form of an object with the given label:
// 64 MiB for a revocation list, 64 KiB for everything else. A text form is
// refused with ErrTooLarge when it decodes to more.
func Limit(label string) int {
	if label == RevocationList {
		return MaxRevocationListSize
	}
	return MaxSize
}

// MaxTextSize is how many bytes a program should read at most for a text
// form of an object with the given label: the armored form of Limit(label)
// bytes with CRLF line ends, plus 4 KiB for a byte order mark and white space.
func MaxTextSize(label string) int {
	b64 := base64.StdEncoding.EncodedLen(Limit(label))
	lines := (b64 + columns - 1) / columns
	return b64 + 2*lines + 2*(len(beginPrefix)+len(label)+len(dashes)+2) + 4096
}

// Known reports whether label is one of Labels.
func Known(label string) bool {
	for _, l := range Labels {
		if l == label {
			return true
		}
	}
	return false
}

const (
	columns     = 64
	beginPrefix = "-----BEGIN SEATKEY "
	endPrefix   = "-----END SEATKEY "
	dashes      = "-----"
	linePrefix0 = "seatkey-"
)

var bom = []byte{0xef, 0xbb, 0xbf}

// Encode returns the armored form of data with the given label, such as "LICENSE".
func Encode(label string, data []byte) []byte {
	const chunk = columns / 4 * 3 // bytes per full line
	n := base64.StdEncoding.EncodedLen(len(data))
	out := make([]byte, 0, 2*(len(endPrefix)+len(label)+len(dashes)+1)+n+n/columns+1)
	out = append(out, beginPrefix+label+dashes+"\n"...)
	for len(data) > chunk {
		out = base64.StdEncoding.AppendEncode(out, data[:chunk])
		out = append(out, '\n')
		data = data[chunk:]
	}
	out = base64.StdEncoding.AppendEncode(out, data)
	out = append(out, '\n')
	return append(out, endPrefix+label+dashes+"\n"...)
}

// Line returns the single-line form: "seatkey-<label>:" and unpadded base64url,
// where <label> is the armor label in lower case with spaces as dashes.
func Line(label string, data []byte) string {
	return linePrefix(label) + base64.RawURLEncoding.EncodeToString(data)
}

func linePrefix(label string) string {
	return linePrefix0 + strings.ReplaceAll(strings.ToLower(label), " ", "-") + ":"
}

// trim removes what a reader ignores around a text form: a UTF-8 byte order
// mark at the very start, then white space (space, tab, CR, LF) at both ends.
func trim(b []byte) []byte {
	b = bytes.TrimPrefix(b, bom)
	return bytes.Trim(b, " \t\r\n")
}

// Is reports whether b is text (as opposed to a binary object): after an
// optional byte order mark and white space it starts with "-----BEGIN SEATKEY "
// or "seatkey-". No binary seatkey object can start that way: every one is a
// CBOR map or tag, whose first byte is 0xa0..0xbf or 0xc0..0xdf.
func Is(b []byte) bool {
	t := trim(b)
	return bytes.HasPrefix(t, []byte(beginPrefix)) || bytes.HasPrefix(t, []byte(linePrefix0))
}

// Label returns the label of an armored file or a single line, without
// decoding it. A label this version does not know is ErrArmor.
func Label(text []byte) (string, error) {
	t := trim(text)
	if rest, ok := bytes.CutPrefix(t, []byte(beginPrefix)); ok {
		line, _, _ := bytes.Cut(rest, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		l, ok := bytes.CutSuffix(line, []byte(dashes))
		if !ok || !Known(string(l)) {
			return "", fmt.Errorf("%w: unknown or malformed label in %q", ErrArmor, clip(line))
		}
		return string(l), nil
	}
	if rest, ok := bytes.CutPrefix(t, []byte(linePrefix0)); ok {
		name, _, ok := bytes.Cut(rest, []byte(":"))
		if ok {
			for _, l := range Labels {
				if linePrefix(l) == linePrefix0+string(name)+":" {
					return l, nil
				}
			}
		}
		return "", fmt.Errorf("%w: unknown or malformed label in %q", ErrArmor, clip(name))
	}
	return "", fmt.Errorf("%w: not a seatkey text form", ErrArmor)
}

// clip shortens customer text quoted in an error.
func clip(b []byte) []byte {
	if len(b) > 40 {
		return b[:40]
	}
	return b
}

// Decode accepts either text form with the given label and returns the
// binary form. It checks, in this order (SPEC.md section 6): the label is
// known (ErrArmor) and is the one wanted (ErrWrongType); the framing and line
// lengths (ErrArmor); the size against Limit(label) (ErrTooLarge); the base64
// (ErrArmor).
func Decode(label string, text []byte) ([]byte, error) {
	t := trim(text)
	got, err := Label(t)
	if err != nil {
		return nil, err
	}
	if got != label {
		return nil, fmt.Errorf("%w: a %s where a %s was expected", ErrWrongType, strings.ToLower(got), strings.ToLower(label))
	}
	if bytes.HasPrefix(t, []byte(linePrefix0)) {
		return decodeLine(label, t)
	}
	return decodeArmor(label, t)
}

func decodeLine(label string, t []byte) ([]byte, error) {
	body := t[len(linePrefix(label)):]
	if len(body) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrArmor)
	}
	for i, c := range body {
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return nil, fmt.Errorf("%w: byte %#02x at offset %d of a single line is not base64url (line breaks, white space and padding are not allowed)", ErrArmor, c, len(linePrefix(label))+i)
		}
	}
	if limit := Limit(label); len(body) > base64.RawURLEncoding.EncodedLen(limit) {
		return nil, fmt.Errorf("%w: a %s is at most %d bytes", ErrTooLarge, strings.ToLower(label), limit)
	}
	data, err := base64.RawURLEncoding.Strict().DecodeString(string(body))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrArmor, err)
	}
	return data, nil
}

func decodeArmor(label string, t []byte) ([]byte, error) {
	t = bytes.ReplaceAll(t, []byte("\r\n"), []byte("\n"))
	lines := strings.Split(string(t), "\n")
	if len(lines) < 3 {
		return nil, fmt.Errorf("%w: too short", ErrArmor)
	}
	if lines[0] != beginPrefix+label+dashes {
		return nil, fmt.Errorf("%w: bad header line", ErrArmor)
	}
	if lines[len(lines)-1] != endPrefix+label+dashes {
		return nil, fmt.Errorf("%w: bad or missing footer line", ErrArmor)
	}
	body := lines[1 : len(lines)-1]
	n := 0
	for i, l := range body {
		last := i == len(body)-1
		if (!last && len(l) != columns) || (last && (len(l) == 0 || len(l) > columns)) || strings.ContainsRune(l, '\r') {
			return nil, fmt.Errorf("%w: line %d has %d columns", ErrArmor, i+2, len(l))
		}
		n += len(l)
	}
	if limit := Limit(label); n > base64.StdEncoding.EncodedLen(limit) {
		return nil, fmt.Errorf("%w: a %s is at most %d bytes", ErrTooLarge, strings.ToLower(label), limit)
	}
	enc := make([]byte, 0, n)
	for _, l := range body {
		enc = append(enc, l...)
	}
	data := make([]byte, base64.StdEncoding.DecodedLen(n))
	m, err := base64.StdEncoding.Strict().Decode(data, enc)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrArmor, err)
	}
	if limit := Limit(label); m > limit {
		return nil, fmt.Errorf("%w: a %s is at most %d bytes", ErrTooLarge, strings.ToLower(label), limit)
	}
	return data[:m], nil
}
