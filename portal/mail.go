package portal

import (
	"errors"
	"fmt"
	"net/smtp"
	"strings"
	"time"
)

// Mailer sends one plain-text email.
type Mailer interface {
	Send(to, subject, body string) error
}

// SMTPMailer sends through an SMTP relay with net/smtp (STARTTLS when the
// relay offers it).
type SMTPMailer struct {
	Addr string    // host:port of the relay
	From string    // sender address
	Auth smtp.Auth // nil: none (a local relay)
}

// ErrHeaderInjection: an address or subject holds a line break.
var ErrHeaderInjection = errors.New("mail: line break in an address or subject")

// Send builds an RFC 5322 message and hands it to the relay.
func (m *SMTPMailer) Send(to, subject, body string) error {
	if strings.ContainsAny(to+m.From+subject, "\r\n") || to == "" {
		return ErrHeaderInjection
	}
	msg := "From: " + m.From + "\r\nTo: " + to + "\r\nSubject: " + subject +
		"\r\nDate: " + time.Now().UTC().Format(time.RFC1123Z) +
		"\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
		strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n") + "\r\n"
	if err := smtp.SendMail(m.Addr, m.Auth, m.From, []string{to}, []byte(msg)); err != nil {
		return fmt.Errorf("mail to %s: %w", to, err)
	}
	return nil
}

// plain makes customer-controlled text safe for one line of a plain-text
// email: control characters become spaces.
func plain(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x2028 || r == 0x2029 {
			return ' '
		}
		return r
	}, s)
}
