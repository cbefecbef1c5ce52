package main

import (
	"fmt"
	"io"
	"unicode/utf8"
)

// Customer text (labels, customer names, file names, armor labels, raw
// hardware values read under --root) reaches the vendor's terminal. A byte
// that a terminal would act on instead of print (ESC starting a control
// sequence, CR overwriting the line, C1 controls, bidirectional overrides
// reordering what is shown) is written as an escape: \u001b, \u202e, or \xff
// for a byte that is not UTF-8. The \uXXXX form is also a valid JSON string
// escape, so the same filter can sit in front of JSON output.

// needsEscape reports whether r must not reach a terminal as itself.
func needsEscape(r rune) bool {
	switch {
	case r < 0x20 || r == 0x7f: // C0 controls and DEL
		return true
	case r >= 0x80 && r <= 0x9f: // C1 controls
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, // bidi marks
		r >= 0x202a && r <= 0x202e, // bidi embeddings and overrides
		r >= 0x2066 && r <= 0x2069, // bidi isolates
		r == 0x2028, r == 0x2029,   // line and paragraph separators
		r == 0xfeff: // zero width no-break space (BOM)
		return true
	}
	return false
}

// appendEscaped appends s with every rune that needsEscape escaped; with
// keepLines, line feeds and tabs pass (for multi-line messages).
func appendEscaped(dst []byte, s string, keepLines bool) []byte {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			dst = fmt.Appendf(dst, `\x%02x`, s[i])
		case keepLines && (r == '\n' || r == '\t'):
			dst = append(dst, byte(r))
		case needsEscape(r):
			dst = fmt.Appendf(dst, `\u%04x`, r)
		default:
			dst = append(dst, s[i:i+n]...)
		}
		i += n
	}
	return dst
}

// esc makes one field of customer text safe to print on one line: every
// control character, line breaks included, is escaped.
func esc(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return string(appendEscaped(nil, s, false))
		}
	}
	return s
}

// escapingWriter escapes everything written to a terminal-bound stream
// except line feeds and tabs, so that no output path, even one that forgot
// esc, can carry a control sequence. A rune split across two writes is
// held back until it is complete.
type escapingWriter struct {
	w       io.Writer
	pending []byte
	buf     []byte
}

func (e *escapingWriter) Write(p []byte) (int, error) {
	data := p
	if len(e.pending) > 0 {
		data = append(e.pending, p...)
		e.pending = nil
	}
	// Hold back an incomplete rune at the end.
	cut := len(data)
	for i := len(data) - 1; i >= 0 && i >= len(data)-utf8.UTFMax; i-- {
		if utf8.RuneStart(data[i]) {
			if !utf8.FullRune(data[i:]) {
				cut = i
			}
			break
		}
	}
	e.pending = append(e.pending, data[cut:]...)
	e.buf = appendEscaped(e.buf[:0], string(data[:cut]), true)
	if _, err := e.w.Write(e.buf); err != nil {
		return 0, err
	}
	return len(p), nil
}

// flush writes a trailing incomplete rune, escaped.
func (e *escapingWriter) flush() error {
	if len(e.pending) == 0 {
		return nil
	}
	_, err := e.w.Write(appendEscaped(nil, string(e.pending), true))
	e.pending = nil
	return err
}
