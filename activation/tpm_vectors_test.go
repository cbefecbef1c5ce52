package activation

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"math/big"
	"os"
	"testing"
	"time"
)

var updateTPM = flag.Bool("update-tpm", false, "rewrite testdata/vectors/tpm.json")

const tpmVectorFile = "../testdata/vectors/tpm.json"

// tpmVectors fix SPEC.md section 13's signed statements: the messages byte
// for byte, and an AK signature over each that any implementation must
// accept (ECDSA signatures are randomized, so they were made once and kept).
type tpmVectors struct {
	Comment    string `json:"comment"`
	AKPoint    string `json:"ak_point"`
	Activation string `json:"activation_id"`
	Nonce      string `json:"nonce"`
	Proof      string `json:"proof_message"`
	ProofSig   string `json:"proof_signature"`
	At         int64  `json:"return_time"`
	Return     string `json:"return_message"`
	ReturnSig  string `json:"return_signature"`
	ProofFile  string `json:"return_proof_armored"`
}

func TestTPMVectors(t *testing.T) {
	id := ID{0x5e, 0xa7, 0x4e, 0x01, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}
	nonce := make([]byte, 32)
	for i := range nonce {
		nonce[i] = byte(i)
	}
	at := time.Unix(1780000000, 0).UTC()
	if *updateTPM {
		k := &ecdsa.PrivateKey{D: big.NewInt(0x5ea7)}
		k.PublicKey.Curve = elliptic.P256()
		k.PublicKey.X, k.PublicKey.Y = elliptic.P256().ScalarBaseMult(k.D.Bytes())
		sign := func(m []byte) string {
			h := sha256.Sum256(m)
			s, err := ecdsa.SignASN1(rand.Reader, k, h[:])
			if err != nil {
				t.Fatal(err)
			}
			return hex.EncodeToString(s)
		}
		pt, _ := k.PublicKey.ECDH()
		v := tpmVectors{Comment: "SPEC.md section 13: proof and return messages, and AK signatures over them (P-256 key with d = 0x5ea7).",
			AKPoint: hex.EncodeToString(pt.Bytes()), Activation: hex.EncodeToString(id[:]), Nonce: hex.EncodeToString(nonce),
			Proof: hex.EncodeToString(ProofMessage(id, nonce)), ProofSig: sign(ProofMessage(id, nonce)),
			At: at.Unix(), Return: hex.EncodeToString(ReturnMessage(id, at)), ReturnSig: sign(ReturnMessage(id, at))}
		sig, _ := hex.DecodeString(v.ReturnSig)
		f, err := (&ReturnProof{Activation: id, At: at, Signature: sig}).Armor()
		if err != nil {
			t.Fatal(err)
		}
		v.ProofFile = string(f)
		b, _ := json.MarshalIndent(v, "", "  ")
		if err := os.WriteFile(tpmVectorFile, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(tpmVectorFile)
	if err != nil {
		t.Fatal(err)
	}
	var v tpmVectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	hx := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// The messages, built by hand from SPEC's layout, not by the code.
	wantProof := append(append([]byte("seatkey tpm proof v1\x00"), id[:]...), nonce...)
	wantReturn := append(append([]byte("seatkey return v1\x00"), id[:]...), 0, 0, 0, 0, 0x6a, 0x18, 0xa5, 0x00)
	if hex.EncodeToString(wantProof) != v.Proof || hex.EncodeToString(ProofMessage(id, nonce)) != v.Proof {
		t.Fatal("proof message differs from SPEC's layout")
	}
	if hex.EncodeToString(wantReturn) != v.Return || hex.EncodeToString(ReturnMessage(id, at)) != v.Return {
		t.Fatal("return message differs from SPEC's layout")
	}
	if !VerifyAKSignature(hx(v.AKPoint), hx(v.Proof), hx(v.ProofSig)) || !VerifyAKSignature(hx(v.AKPoint), hx(v.Return), hx(v.ReturnSig)) {
		t.Fatal("a vector signature does not verify")
	}
	if VerifyAKSignature(hx(v.AKPoint), hx(v.Return), hx(v.ProofSig)) {
		t.Fatal("a signature verifies for another message")
	}
	p, err := ParseReturnProof([]byte(v.ProofFile))
	if err != nil || p.Activation != id || !p.At.Equal(at) || hex.EncodeToString(p.Signature) != v.ReturnSig {
		t.Fatalf("return proof vector: %+v %v", p, err)
	}
}

func FuzzParseReturnProof(f *testing.F) {
	b, _ := (&ReturnProof{Activation: ID{1}, At: time.Unix(1780000000, 0), Signature: []byte{0x30, 0x06, 2, 1, 1, 2, 1, 1}}).Armor()
	f.Add(b)
	f.Fuzz(func(t *testing.T, in []byte) {
		p, err := ParseReturnProof(in)
		if err != nil {
			return
		}
		out, err := p.Armor()
		if err != nil {
			t.Fatalf("accepted %x but cannot write it back: %v", in, err)
		}
		q, err := ParseReturnProof(out)
		if err != nil || q.Activation != p.Activation || !q.At.Equal(p.At) || string(q.Signature) != string(p.Signature) {
			t.Fatalf("round trip changed the proof: %+v %+v %v", p, q, err)
		}
	})
}
