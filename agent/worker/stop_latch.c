/* One-way stop flag with timed waits (see stop_latch.h). */
#include "stop_latch.h"

#include <time.h>

#define NS_PER_S  1000000000L
#define NS_PER_MS 1000000L

void ioca_stop_latch_init(struct ioca_stop_latch *l)
{
	pthread_mutex_init(&l->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->cond, &ca);
	pthread_condattr_destroy(&ca);
	atomic_init(&l->set, false);
}

void ioca_stop_latch_destroy(struct ioca_stop_latch *l)
{
	pthread_cond_destroy(&l->cond);
	pthread_mutex_destroy(&l->lock);
}

void ioca_stop_latch_set(struct ioca_stop_latch *l)
{
	pthread_mutex_lock(&l->lock);
	atomic_store(&l->set, true);
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
}

bool ioca_stop_latch_is_set(const struct ioca_stop_latch *l)
{
	return atomic_load(&l->set);
}

bool ioca_stop_latch_wait(struct ioca_stop_latch *l, int64_t timeout_ms)
{
	if (timeout_ms < 0)
		timeout_ms = 0;
	struct timespec deadline;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += (time_t)(timeout_ms / 1000);
	deadline.tv_nsec += (long)(timeout_ms % 1000) * NS_PER_MS;
	if (deadline.tv_nsec >= NS_PER_S) {
		deadline.tv_sec++;
		deadline.tv_nsec -= NS_PER_S;
	}
	pthread_mutex_lock(&l->lock);
	while (!atomic_load(&l->set)) {
		if (pthread_cond_timedwait(&l->cond, &l->lock, &deadline) != 0)
			break;
	}
	pthread_mutex_unlock(&l->lock);
	return atomic_load(&l->set);
}
