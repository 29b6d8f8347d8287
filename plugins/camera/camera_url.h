/*
 * Stream URLs: credentials put in from options. Free of FFmpeg types.
 *
 * Invariant: a URL made here is never logged or published as it is; what is
 * written is its ioca_url_mask() form (url_mask.h).
 */
#ifndef IOCA_CAMERA_URL_H
#define IOCA_CAMERA_URL_H

#include <stdbool.h>
#include <stddef.h>

/*
 * A newly allocated URL equal to `url` with its userinfo replaced by
 * username[:password] (percent-encoded) when username is non-NULL and
 * non-empty; otherwise a plain copy. NULL when out of memory.
 */
char *ioca_cam_url_with_credentials(const char *url, const char *username, const char *password);

/* Whether the URL names a network stream (has a scheme other than file:). */
bool ioca_cam_url_is_network(const char *url);

#endif
