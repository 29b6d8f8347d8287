/*
 * Clock quality events (see clock_report.h). The envelope's "clock" changes
 * before the event that announces the change is built, so the
 * agent.clock_unsynced event itself says "unsynced".
 */
#include "clock_report.h"

#include "log.h"
#include "timeutil.h"

#define CLOCK_CHECK_INTERVAL_MS 1000

void ioca_clock_report_init(struct ioca_clock_report *r, struct ioca_intake *in)
{
	*r = (struct ioca_clock_report){0};
	r->src = ioca_clock_source_default(&r->storage);
	struct ioca_clock_sample s;
	struct ioca_clock_change ch;
	r->src->sample(r->src, &s);
	ioca_clock_watch_update(&r->watch, &s, &ch);
	in->env.clock_unsynced = !r->watch.synced;
	r->announce = ch.sync_changed;
	r->due_ms = ioca_now_mono_ms() + CLOCK_CHECK_INTERVAL_MS;
}

static void report_jump(struct ioca_intake *in, const struct ioca_clock_change *ch)
{
	char from[IOCA_RFC3339_LEN], to[IOCA_RFC3339_LEN];
	ioca_format_rfc3339(ch->from_wall_ms, from, sizeof from);
	ioca_format_rfc3339(ch->to_wall_ms, to, sizeof to);
	ioca_warn("clock: wall clock jumped by %lld ms (%s -> %s)", (long long)ch->jump_ms, from,
		  to);
	cJSON *d = cJSON_CreateObject();
	cJSON_AddNumberToObject(d, "offset_ms", (double)ch->jump_ms);
	cJSON_AddStringToObject(d, "from", from);
	cJSON_AddStringToObject(d, "to", to);
	cJSON_AddBoolToObject(d, "synced", ch->synced);
	ioca_intake_agent_event(in, "agent.clock_jump", IOCA_SEV_WARNING, d);
}

static void announce(struct ioca_intake *in, bool synced)
{
	if (synced)
		ioca_info("clock: the kernel reports the clock synchronised");
	else
		ioca_warn("clock: the kernel reports the clock not synchronised (no NTP); "
			  "envelopes carry \"clock\":\"unsynced\"");
	ioca_intake_agent_event(in, synced ? "agent.clock_synced" : "agent.clock_unsynced",
				synced ? IOCA_SEV_INFO : IOCA_SEV_WARNING, NULL);
}

bool ioca_clock_report_tick(struct ioca_clock_report *r, int64_t now_mono_ms,
			    struct ioca_intake *in)
{
	if (r->announce) {
		r->announce = false;
		announce(in, r->watch.synced);
	}
	if (now_mono_ms < r->due_ms)
		return false;
	r->due_ms = now_mono_ms + CLOCK_CHECK_INTERVAL_MS;
	struct ioca_clock_sample s;
	struct ioca_clock_change ch;
	r->src->sample(r->src, &s);
	ioca_clock_watch_update(&r->watch, &s, &ch);
	in->env.clock_unsynced = !r->watch.synced;
	if (ch.jumped)
		report_jump(in, &ch);
	if (!ch.sync_changed)
		return false;
	announce(in, ch.synced);
	return true;
}

bool ioca_clock_report_synced(const struct ioca_clock_report *r)
{
	return r->watch.synced;
}
