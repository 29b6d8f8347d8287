/* Clock watch (see clock_watch.h). */
#include "clock_watch.h"

#include <string.h>

void ioca_clock_watch_update(struct ioca_clock_watch *w, const struct ioca_clock_sample *s,
			     struct ioca_clock_change *ch)
{
	memset(ch, 0, sizeof *ch);
	int64_t offset = s->wall_ms - s->boot_ms;
	ch->synced = s->synced;
	if (!w->started) {
		w->started = true;
		w->synced = s->synced;
		w->offset_ms = offset;
		ch->sync_changed = !s->synced;
		return;
	}
	if (s->synced != w->synced) {
		ch->sync_changed = true;
		w->synced = s->synced;
	}
	int64_t moved = offset - w->offset_ms;
	if (moved > IOCA_CLOCK_JUMP_MS || moved < -IOCA_CLOCK_JUMP_MS) {
		ch->jumped = true;
		ch->jump_ms = moved;
		ch->to_wall_ms = s->wall_ms;
		ch->from_wall_ms = s->wall_ms - moved;
	}
	w->offset_ms = offset;
}
