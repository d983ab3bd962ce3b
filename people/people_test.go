package people

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base32"
	"errors"
	"hash"
	"strings"
	"testing"
	"time"
)

// TestHOTPRFC6238Vectors checks the code generator against RFC 6238's
// Appendix B (8 digits, SHA-1/256/512, 30-second steps).
func TestHOTPRFC6238Vectors(t *testing.T) {
	seed := "1234567890"
	keys := map[string][]byte{
		"SHA1":   []byte(strings.Repeat(seed, 2)),
		"SHA256": []byte(strings.Repeat(seed, 3) + "12"),
		"SHA512": []byte(strings.Repeat(seed, 6) + "1234"),
	}
	hashes := map[string]func() hash.Hash{"SHA1": sha1.New, "SHA256": sha256.New, "SHA512": sha512.New}
	vectors := []struct {
		t                    int64
		sha1, sha256, sha512 string
	}{
		{59, "94287082", "46119246", "90693936"},
		{1111111109, "07081804", "68084774", "25091201"},
		{1111111111, "14050471", "67062674", "99943326"},
		{1234567890, "89005924", "91819424", "93441116"},
		{2000000000, "69279037", "90698825", "38618901"},
		{20000000000, "65353130", "77737706", "47863826"},
	}
	for _, v := range vectors {
		step := uint64(Step(time.Unix(v.t, 0)))
		for alg, want := range map[string]string{"SHA1": v.sha1, "SHA256": v.sha256, "SHA512": v.sha512} {
			if got := HOTP(hashes[alg], keys[alg], step, 8); got != want {
				t.Errorf("T=%d %s: got %s, want %s", v.t, alg, got, want)
			}
		}
	}
	// The six-digit code the console uses is the last six of the same.
	secret := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(keys["SHA1"])
	if got, _ := Code(secret, time.Unix(59, 0)); got != "287082" {
		t.Errorf("6-digit code at T=59: got %s, want 287082", got)
	}
}

// TestCheckCodeWindowAndReplay: a code is accepted one step either side of
// now, not beyond; and once a step's code was used, it and every earlier
// step are refused.
func TestCheckCodeWindowAndReplay(t *testing.T) {
	secret := NewTOTPSecret()
	now := time.Unix(1_700_000_000, 0)
	at := func(d time.Duration) string {
		c, err := Code(secret, now.Add(d))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	cur := Step(now)
	for _, tc := range []struct {
		name string
		code string
		last int64
		want int64 // 0: refused
	}{
		{"current", at(0), 0, cur},
		{"previous step", at(-TOTPPeriod), 0, cur - 1},
		{"next step", at(TOTPPeriod), 0, cur + 1},
		{"two steps old", at(-2 * TOTPPeriod), 0, 0},
		{"two steps ahead", at(2 * TOTPPeriod), 0, 0},
		{"replayed", at(0), cur, 0},
		{"older than the last used", at(-TOTPPeriod), cur, 0},
		{"next after the last used", at(TOTPPeriod), cur, cur + 1},
		{"with a space", at(0)[:3] + " " + at(0)[3:], 0, cur},
		{"too short", at(0)[:5], 0, 0},
		{"letters", "abcdef", 0, 0},
		{"empty", "", 0, 0},
	} {
		got, err := CheckCode(secret, tc.code, now, tc.last)
		if tc.want == 0 {
			if !errors.Is(err, ErrBadCode) {
				t.Errorf("%s: accepted (step %d), want ErrBadCode", tc.name, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: got %d, %v; want step %d", tc.name, got, err, tc.want)
		}
	}
	if _, err := CheckCode("not base32!", "123456", now, 0); err == nil {
		t.Error("a malformed secret checked a code")
	}
}

func TestURIIsOtpauth(t *testing.T) {
	u := URI("hashhub node-a", "Ann Analyst", "JBSWY3DPEHPK3PXP")
	for _, want := range []string{"otpauth://totp/hashhub%20node-a:Ann%20Analyst?", "secret=JBSWY3DPEHPK3PXP", "issuer=hashhub+node-a", "digits=6", "period=30"} {
		if !strings.Contains(u, want) {
			t.Errorf("URI %s lacks %s", u, want)
		}
	}
}

func TestCheckPasswordRules(t *testing.T) {
	for _, tc := range []struct {
		pw, name string
		ok       bool
	}{
		{"correct pony staple", "ann", true},
		{"ünïcödé-pässwörd", "ann", true},      // 16 characters, more bytes
		{"short pass", "ann", false},           // 10 characters
		{"elevenchars", "ann", false},          // 11
		{"twelve chars", "ann", true},          // exactly 12
		{"ääääääääääää", "ann", false},         // one character repeated
		{"aaaaaaaaaaaaaaaa", "ann", false},     // one character repeated
		{"Password1234", "ann", false},         // common (any case)
		{"qwertyuiop123", "ann", false},        // common
		{"PASSWORD1234", "ann", false},         // common, upper case
		{"Ann Analyst1", "Ann Analyst", false}, // the name plus a digit
		{"Ann Analyst and a long tail", "Ann Analyst", true},
		{strings.Repeat("ab", 600), "ann", false}, // longer than 1024 bytes
		{"valid\xffutf8 no", "ann", false},
	} {
		err := CheckPassword(tc.pw, tc.name)
		if tc.ok != (err == nil) {
			t.Errorf("%q: got %v, want ok=%v", tc.pw, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrWeakPassword) {
			t.Errorf("%q: error %v is not ErrWeakPassword", tc.pw, err)
		}
	}
}

func TestHashAndVerifyPassword(t *testing.T) {
	h := HashPassword("correct pony staple")
	if !strings.HasPrefix(h, "$argon2id$v=19$m=47104,t=1,p=1$") {
		t.Errorf("hash %s: want PHC argon2id with the default parameters", h)
	}
	if h2 := HashPassword("correct pony staple"); h2 == h {
		t.Error("two hashes of one password are equal: no salt")
	}
	if !VerifyPassword("correct pony staple", h) {
		t.Error("right password refused")
	}
	for _, bad := range []string{"correct pony stapl", "Correct pony staple", ""} {
		if VerifyPassword(bad, h) {
			t.Errorf("wrong password %q accepted", bad)
		}
	}
	// Hashes made with other parameters stay verifiable.
	old := hashWith("old password here", Argon2Params{Memory: 64, Time: 2, Threads: 1, KeyLen: 16, SaltLen: 8})
	if !VerifyPassword("old password here", old) {
		t.Error("hash with other parameters not verified")
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=64,t=1,p=1$AAAA$AAAAAAAAAAAAAAAAAAAAAA", "$argon2id$v=19$m=99999999,t=1,p=1$AAAA$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=18$m=64,t=1,p=1$AAAA$AAAAAAAAAAAAAAAAAAAAAA", "$argon2id$v=19$m=64,t=1,p=1$!!$AAAA", "garbage"} {
		if VerifyPassword("x", bad) {
			t.Errorf("malformed hash %q matched", bad)
		}
	}
}

// FuzzVerifyPassword: a stored hash is read back from the store; whatever
// it holds, verifying never panics or asks for unbounded work.
func FuzzVerifyPassword(f *testing.F) {
	f.Add("pw", HashPassword("pw"))
	f.Add("pw", "$argon2id$v=19$m=8,t=1,p=1$AAAA$AAAAAAAAAAAAAAAAAAAAAA")
	f.Fuzz(func(t *testing.T, pw, h string) {
		VerifyPassword(pw, h)
	})
}

// FuzzCheckCode: codes come from a form.
func FuzzCheckCode(f *testing.F) {
	secret := NewTOTPSecret()
	f.Add("123456", int64(0))
	f.Add("12 3456", int64(5))
	f.Fuzz(func(t *testing.T, code string, last int64) {
		step, err := CheckCode(secret, code, time.Unix(1_700_000_000, 0), last)
		if err == nil && step <= last {
			t.Fatalf("accepted step %d not after last %d", step, last)
		}
	})
}

func TestThrottleBackoffAndLockout(t *testing.T) {
	th := NewThrottle()
	now := time.Unix(1_700_000_000, 0)
	key := "acct:ann"
	// The free failures cost nothing.
	for i := 0; i < DefaultFreeFailures; i++ {
		if d := th.Fail(key, now); d != 0 {
			t.Fatalf("failure %d: wait %s, want none", i+1, d)
		}
		if w, _ := th.Wait(key, now); w != 0 {
			t.Fatalf("failure %d: must wait %s", i+1, w)
		}
	}
	// Then the wait doubles.
	want := DefaultBaseDelay
	for i := DefaultFreeFailures + 1; i < DefaultLockoutAfter; i++ {
		d := th.Fail(key, now)
		if want > DefaultMaxDelay {
			want = DefaultMaxDelay
		}
		if d != want {
			t.Fatalf("failure %d: wait %s, want %s", i, d, want)
		}
		if w, locked := th.Wait(key, now); w != want || locked {
			t.Fatalf("failure %d: Wait = %s, %v; want %s, not locked", i, w, locked, want)
		}
		// Waiting it out lets the next attempt be heard.
		now = now.Add(d)
		if w, _ := th.Wait(key, now); w != 0 {
			t.Fatalf("after waiting %s still %s to wait", d, w)
		}
		want *= 2
	}
	// The LockoutAfter-th failure locks the key.
	if d := th.Fail(key, now); d != DefaultLockout {
		t.Fatalf("lockout: wait %s, want %s", d, DefaultLockout)
	}
	if w, locked := th.Wait(key, now.Add(time.Minute)); !locked || w != DefaultLockout-time.Minute {
		t.Fatalf("during lockout: %s, locked=%v", w, locked)
	}
	// Other keys are untouched.
	if w, _ := th.Wait("acct:bob", now); w != 0 {
		t.Fatalf("another key waits %s", w)
	}
	// A success clears the count.
	th.Succeed(key)
	if th.Failures(key) != 0 {
		t.Fatal("success kept the failures")
	}
	if w, _ := th.Wait(key, now); w != 0 {
		t.Fatalf("after success: wait %s", w)
	}
}
