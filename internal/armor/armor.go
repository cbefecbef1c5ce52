// Package armor implements seatkey's two text forms of a binary object: the
// armored file (PEM-like, strict base64 in 64-column lines) and the single line
// for pasting ("seatkey-<label>:" followed by unpadded base64url).
package armor

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// ErrArmor is returned for text that is not a well-formed armored file or line.
var ErrArmor = errors.New("malformed armor")

// ErrLabel is returned for well-formed text of another kind of object.
var ErrLabel = errors.New("armor label does not match")

// MaxSize bounds the decoded size of any armored object.
const MaxSize = 1 << 20

const columns = 64

// Encode returns the armored form of data with the given label, such as "LICENSE".
func Encode(label string, data []byte) []byte {
	var buf bytes.Buffer
	buf.WriteString("-----BEGIN SEATKEY " + label + "-----\n")
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > columns {
		buf.WriteString(enc[:columns])
		buf.WriteByte('\n')
		enc = enc[columns:]
	}
	buf.WriteString(enc)
	buf.WriteByte('\n')
	buf.WriteString("-----END SEATKEY " + label + "-----\n")
	return buf.Bytes()
}

// Line returns the single-line form: "seatkey-<label>:" and unpadded base64url,
// where <label> is the armor label in lower case with spaces as dashes.
func Line(label string, data []byte) string {
	return linePrefix(label) + base64.RawURLEncoding.EncodeToString(data)
}

func linePrefix(label string) string {
	return "seatkey-" + strings.ReplaceAll(strings.ToLower(label), " ", "-") + ":"
}

// Is reports whether text looks like an armored file or a single line of any label.
func Is(text []byte) bool {
	t := bytes.TrimLeft(text, " \t\r\n")
	return bytes.HasPrefix(t, []byte("-----BEGIN SEATKEY ")) || bytes.HasPrefix(t, []byte("seatkey-"))
}

// Label returns the label of an armored file or a single line, without decoding it.
func Label(text []byte) (string, error) {
	t := bytes.TrimLeft(text, " \t\r\n")
	if rest, ok := bytes.CutPrefix(t, []byte("-----BEGIN SEATKEY ")); ok {
		i := bytes.Index(rest, []byte("-----"))
		if i <= 0 {
			return "", fmt.Errorf("%w: no label", ErrArmor)
		}
		return string(rest[:i]), nil
	}
	if rest, ok := bytes.CutPrefix(t, []byte("seatkey-")); ok {
		i := bytes.IndexByte(rest, ':')
		if i <= 0 {
			return "", fmt.Errorf("%w: no label", ErrArmor)
		}
		return strings.ToUpper(strings.ReplaceAll(string(rest[:i]), "-", " ")), nil
	}
	return "", fmt.Errorf("%w: not a seatkey text form", ErrArmor)
}

// Decode accepts either text form with the given label and returns the bytes.
// Leading and trailing white space around the whole text is allowed, and CRLF
// line ends; nothing else deviates from what Encode and Line write.
func Decode(label string, text []byte) ([]byte, error) {
	t := bytes.TrimSpace(text)
	if bytes.HasPrefix(t, []byte("seatkey-")) {
		return decodeLine(label, t)
	}
	return decodeArmor(label, t)
}

func decodeLine(label string, t []byte) ([]byte, error) {
	got, err := Label(t)
	if err != nil {
		return nil, err
	}
	if got != label {
		return nil, fmt.Errorf("%w: want %s, got %s", ErrLabel, label, got)
	}
	if !bytes.HasPrefix(t, []byte(linePrefix(label))) {
		return nil, fmt.Errorf("%w: prefix must be %s", ErrArmor, linePrefix(label))
	}
	body := t[len(linePrefix(label)):]
	if len(body) > base64.RawURLEncoding.EncodedLen(MaxSize) {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrArmor, MaxSize)
	}
	data, err := base64.RawURLEncoding.Strict().DecodeString(string(body))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrArmor, err)
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrArmor)
	}
	return data, nil
}

func decodeArmor(label string, t []byte) ([]byte, error) {
	if !bytes.HasPrefix(t, []byte("-----BEGIN SEATKEY ")) {
		return nil, fmt.Errorf("%w: not a seatkey text form", ErrArmor)
	}
	t = bytes.ReplaceAll(t, []byte("\r\n"), []byte("\n"))
	lines := strings.Split(string(t), "\n")
	if len(lines) < 3 {
		return nil, fmt.Errorf("%w: too short", ErrArmor)
	}
	got, err := Label(t)
	if err != nil {
		return nil, err
	}
	if got != label {
		return nil, fmt.Errorf("%w: want %s, got %s", ErrLabel, label, got)
	}
	if lines[0] != "-----BEGIN SEATKEY "+label+"-----" {
		return nil, fmt.Errorf("%w: bad header line", ErrArmor)
	}
	if lines[len(lines)-1] != "-----END SEATKEY "+label+"-----" {
		return nil, fmt.Errorf("%w: bad or missing footer line", ErrArmor)
	}
	body := lines[1 : len(lines)-1]
	if len(body)*columns > base64.StdEncoding.EncodedLen(MaxSize)+columns {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrArmor, MaxSize)
	}
	var enc strings.Builder
	for i, l := range body {
		last := i == len(body)-1
		if (!last && len(l) != columns) || (last && (len(l) == 0 || len(l) > columns)) {
			return nil, fmt.Errorf("%w: line %d has %d columns", ErrArmor, i+2, len(l))
		}
		enc.WriteString(l)
	}
	data, err := base64.StdEncoding.Strict().DecodeString(enc.String())
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrArmor, err)
	}
	return data, nil
}
