/*
 * Intake → archive (see archive_feed.h). Runs on the core thread per
 * accepted message: one snprintf and one copy into the archive's hand-off
 * list; SQLite work happens on the archive's writer thread.
 */
#include "archive_feed.h"

#include <inttypes.h>
#include <stdio.h>

#include "log.h"

#define ID_MAX 96 /* agent id (64) + ':' + 20 digits */

static struct ioca_ratelimit drop_limit;

void ioca_archive_feed(struct ioca_archive *a, const struct ioca_envelope_ctx *ctx,
		       const struct ioca_envelope_event *ev)
{
	if (!a)
		return;
	char id[ID_MAX];
	snprintf(id, sizeof id, "%s:%" PRIu64, ctx->agent_id, ev->seq);
	struct ioca_archive_msg m = {
	    .seq = ev->seq,
	    .time_ms = ev->time_ms,
	    .id = id,
	    .source = ev->source,
	    .plugin = ev->plugin,
	    .type = ev->type,
	    .severity = (int)ev->severity,
	    .clock_synced = !ctx->clock_unsynced,
	    .data = ev->data && ev->data_len ? ev->data : "{}",
	    .data_len = ev->data && ev->data_len ? ev->data_len : 2,
	};
	if (ioca_archive_add(a, &m) != IOCA_OK)
		ioca_log_limited(&drop_limit, IOCA_LL_WARNING,
				 "archive: writer behind, %s not archived (it is still delivered)",
				 id);
}
