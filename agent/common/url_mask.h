/*
 * Credential masking for every URL the agent writes to a log line or
 * publishes: camera stream URLs, broker URLs, and free text that may hold
 * URLs (FFmpeg's log lines, error messages). A library of its own with no
 * dependencies, linked by the agent and by plugins alike.
 *
 * What is masked (replaced by "***"):
 *   - everything between "scheme://" and the last '@' of the URL (the user
 *     information, and a password holding a raw '/', '?', '#' or '@' too);
 *   - the value of every `name=value` piece of the path, query or fragment
 *     (pieces separated by / ? & ; #) whose name contains a credential word
 *     (user, pass, pwd, token, auth, key, secret, sig, sid, cred, login,
 *     session, ticket, jwt; case-insensitive), e.g. the DVR path
 *     "/user=admin&password=x&channel=1" or "?token=...";
 *   - in free text the same, a URL ending at white space or a quote.
 *
 * Invariant: the output never holds a byte of a masked region of the input,
 * is always NUL-terminated within `outlen` (when outlen > 0), and a
 * truncated output is a prefix of the full masked text (so truncation never
 * reveals what masking hid). Masking is idempotent.
 */
#ifndef IOCA_URL_MASK_H
#define IOCA_URL_MASK_H

#include <stddef.h>

/* The mask written in place of a secret. */
#define IOCA_URL_MASK "***"

/*
 * Function: ioca_url_mask
 *
 * Copy the URL (or file path) `url` into `out` with its credentials masked.
 *
 * Parameters:
 *   url    - NUL-terminated URL; NULL gives ""
 *   out    - destination buffer
 *   outlen - its size; the result is truncated to outlen - 1 bytes
 *
 * Return value: strlen(out).
 */
size_t ioca_url_mask(const char *url, char *out, size_t outlen);

/*
 * Function: ioca_url_mask_text
 *
 * Like ioca_url_mask() for free text: every "scheme://..." inside it is
 * masked as a URL (ending at white space, a quote or '<' '>'), and every
 * credential-like `name=value` word outside URLs too.
 *
 * Return value: strlen(out).
 */
size_t ioca_url_mask_text(const char *text, char *out, size_t outlen);

#endif
