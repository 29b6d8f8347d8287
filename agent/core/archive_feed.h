/*
 * What the intake hands to the local archive: each event and telemetry
 * envelope the queue accepted, as the archive's columns (seq, id, time,
 * source, plugin, type, severity, clock, data). Blobs (snapshots) are not
 * archived.
 */
#ifndef IOCA_ARCHIVE_FEED_H
#define IOCA_ARCHIVE_FEED_H

#include "archive.h"
#include "envelope.h"

/* Copy one accepted envelope into the archive (NULL: archive disabled). */
void ioca_archive_feed(struct ioca_archive *a, const struct ioca_envelope_ctx *ctx,
		       const struct ioca_envelope_event *ev);

#endif
