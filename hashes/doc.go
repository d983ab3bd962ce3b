// Package hashes is hashhub's registry of hash algorithms: it decides which
// hash values are acceptable and what their one canonical spelling is, so
// that the same hash submitted by two organisations is stored, matched and
// de-duplicated as one.
//
// hashhub never sees media. Everything it knows about an image or video is
// a hash, so a hash that is spelled two ways, or that is silently mangled on
// the way in, is a missed match. The rules below are therefore strict about
// content and lenient only about harmless presentation (case, surrounding
// whitespace, base64 dialect), and every refusal names the field and the
// reason so that a submitting analyst can fix the line.
//
// # Rules
//
// All algorithms:
//
//   - A value longer than [MaxValueLen] bytes is refused before any other
//     work, so hostile input costs next to nothing.
//   - Surrounding whitespace is trimmed. Whitespace inside a value is not.
//   - An empty value (after trimming) is refused.
//   - Algorithm names are exact lower-case strings ("sha256", not "SHA256"
//     or " sha256"); anything else is refused with a hint.
//   - Quality is only meaningful for algorithms that define it (today only
//     pdq); a quality given for any other algorithm is refused rather than
//     dropped, because the submitter evidently meant something by it.
//
// md5, sha1, sha256 (matched exactly):
//
//   - Hex digits of a 16-, 20- or 32-byte digest: 32, 40 or 64 characters.
//   - Upper- and mixed-case hex is accepted and lower-cased.
//   - A "0x" prefix is refused: it is a common copy-paste artefact, and
//     guessing would hide the mistake from the submitter.
//   - Reasons name the expected and actual length, or the first character
//     that is not hex and its position (counting bytes from 1, after
//     trimming).
//
// pdq (matched by Hamming distance, see [HammingDistance]):
//
//   - 64 hex characters (256 bits), lower-cased like the digests above.
//   - The all-zero hash is refused: PDQ produces it for blank or degenerate
//     images, so it would "match" huge amounts of innocent material.
//   - Quality is optional; when given it must be an integer from 0 to 100.
//     Whether low-quality hashes are acceptable is the caller's policy.
//
// photodna (matched exactly for now):
//
//   - 144 bytes, written as base64. The canonical form is standard, padded
//     base64 (192 characters), re-encoded from the decoded bytes so that
//     every accepted spelling of the same bytes converges.
//   - Standard and URL-safe alphabets are both accepted, padded or not; a
//     value mixing the two alphabets is refused as ambiguous. Whitespace or
//     line breaks inside the value are refused.
//   - Reasons for a wrong size name 144 and the decoded byte count.
//   - PhotoDNA near matching uses a distance of its own, not the Hamming
//     distance, which [MatchKind] does not model yet; until it does,
//     photodna reports [Exact].
//
// # Errors
//
// Every validation error is a *[FieldError] whose Field is "algo", "value"
// or "quality" and which unwraps to [ErrUnknownAlgorithm],
// [ErrInvalidValue] or [ErrInvalidQuality], so callers can both show the
// reason to a person and branch with errors.Is.
//
// # Adding an algorithm
//
// Write one file that declares a type implementing [Algorithm] and calls
// [Register] from its init function. An algorithm that accepts a quality
// score also implements the unexported qualityChecker interface.
package hashes
