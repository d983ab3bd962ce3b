// Package jurisdiction validates the jurisdictions that national hash
// entries are attached to: ISO 3166-1 alpha-2 country codes.
//
// Only the 249 officially assigned codes are accepted. Exceptionally
// reserved codes such as "UK" and "EU", transitional ones, and the
// user-assigned range (AA, QM–QZ, XA–XZ, ZZ, including the widely used "XK"
// for Kosovo) are refused: a jurisdiction decides where material is
// illegal, so a code must mean the same country to every organisation that
// reads it.
package jurisdiction

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalid is wrapped by every error Normalize returns.
var ErrInvalid = errors.New("invalid jurisdiction")

// assigned lists the officially assigned ISO 3166-1 alpha-2 codes, sorted,
// separated by single spaces. A string constant keeps the table readable
// and diffable against the ISO list; codes is built from it at start-up.
const assigned = "" +
	"AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ " +
	"BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ " +
	"CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ " +
	"DE DJ DK DM DO DZ " +
	"EC EE EG EH ER ES ET " +
	"FI FJ FK FM FO FR " +
	"GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY " +
	"HK HM HN HR HT HU " +
	"ID IE IL IM IN IO IQ IR IS IT " +
	"JE JM JO JP " +
	"KE KG KH KI KM KN KP KR KW KY KZ " +
	"LA LB LC LI LK LR LS LT LU LV LY " +
	"MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ " +
	"NA NC NE NF NG NI NL NO NP NR NU NZ " +
	"OM " +
	"PA PE PF PG PH PK PL PM PN PR PS PT PW PY " +
	"QA " +
	"RE RO RS RU RW " +
	"SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ " +
	"TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ " +
	"UA UG UM US UY UZ " +
	"VA VC VE VG VI VN VU " +
	"WF WS " +
	"YE YT " +
	"ZA ZM ZW"

// codes is a 26×26 bitmap indexed by the two letters: a lookup is two
// subtractions and a bit test, with no hashing and no allocation.
var codes = func() (set [26]uint32) {
	for _, c := range strings.Fields(assigned) {
		set[c[0]-'A'] |= 1 << (c[1] - 'A')
	}
	return set
}()

// Valid reports whether code is exactly two upper-case ASCII letters that
// form an officially assigned ISO 3166-1 alpha-2 code. It does no
// normalisation; see Normalize for user input.
func Valid(code string) bool {
	if len(code) != 2 {
		return false
	}
	a, b := code[0], code[1]
	if a < 'A' || a > 'Z' || b < 'A' || b > 'Z' {
		return false
	}
	return codes[a-'A']&(1<<(b-'A')) != 0
}

// Normalize trims surrounding whitespace, upper-cases and validates code,
// returning the canonical code ("nl" → "NL"). Only ASCII letters are
// upper-cased: Unicode case mapping would turn look-alikes such as "ſe"
// (long s) into "SE". The error wraps ErrInvalid and quotes the input as
// given.
func Normalize(code string) (string, error) {
	c := strings.TrimSpace(code)
	if Valid(c) {
		return c, nil // the common case, without allocating
	}
	if len(c) == 2 {
		c = string([]byte{asciiUpper(c[0]), asciiUpper(c[1])})
		if Valid(c) {
			return c, nil
		}
	}
	if len(code) > 16 {
		// Keep error messages short when the input is hostile.
		code = code[:16] + "…"
	}
	if s, ok := meant[c]; ok {
		return "", fmt.Errorf("%w: %q is not an ISO 3166-1 alpha-2 country code (did you mean %s?)", ErrInvalid, code, s)
	}
	return "", fmt.Errorf("%w: %q is not an ISO 3166-1 alpha-2 country code", ErrInvalid, code)
}

// meant maps codes in common use that ISO 3166-1 reserves for other
// purposes to the assigned code of the same country: the United Kingdom's
// is GB (UK is reserved for it but not assigned), and Greece's GR (EL is
// what the European Union uses). Normalize still refuses them; the error
// says which code to use.
var meant = map[string]string{"UK": "GB", "EL": "GR"}

// asciiUpper upper-cases an ASCII letter and leaves any other byte alone.
func asciiUpper(b byte) byte {
	if 'a' <= b && b <= 'z' {
		return b - 'a' + 'A'
	}
	return b
}
