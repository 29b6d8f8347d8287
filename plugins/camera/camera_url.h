/*
 * Stream URLs: credentials put in from options, and the masked form that is
 * the only one ever written to a log line or an event. Free of FFmpeg types.
 *
 * Invariant: ioca_cam_url_mask() output never contains the userinfo of the
 * input nor the value of a query parameter that looks like a credential
 * (user, pass, pwd, token, auth, key, secret); it always NUL-terminates.
 */
#ifndef IOCA_CAMERA_URL_H
#define IOCA_CAMERA_URL_H

#include <stdbool.h>
#include <stddef.h>

/* Copy `url` into out (size outlen) with credentials masked as "***". */
void ioca_cam_url_mask(const char *url, char *out, size_t outlen);

/*
 * A newly allocated URL equal to `url` with its userinfo replaced by
 * username[:password] (percent-encoded) when username is non-NULL and
 * non-empty; otherwise a plain copy. NULL when out of memory.
 */
char *ioca_cam_url_with_credentials(const char *url, const char *username, const char *password);

/* Whether the URL names a network stream (has a scheme other than file:). */
bool ioca_cam_url_is_network(const char *url);

/* Mask every "scheme://user:pass@" inside free text (FFmpeg log lines), in place. */
void ioca_cam_mask_text(char *text);

#endif
