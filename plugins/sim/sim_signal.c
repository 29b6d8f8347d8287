/* Synthetic signals (see sim_signal.h). */
#include "sim_signal.h"

#include <math.h>
#include <string.h>

int sim_shape_parse(const char *name)
{
	static const char *const names[] = {"sine", "random_walk", "step", "constant"};
	for (int i = 0; i < 4; i++)
		if (name && strcmp(name, names[i]) == 0)
			return i;
	return -1;
}

static double next_unit(uint64_t *x)
{
	/* xorshift64*: plenty for synthetic data, deterministic per seed */
	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return (double)((*x * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

void sim_signal_init(struct sim_signal *s, uint64_t seed)
{
	s->rng = seed ? seed : 0x9e3779b97f4a7c15ull;
	s->value = (s->min + s->max) / 2;
}

double sim_signal_sample(struct sim_signal *s, double t_s)
{
	double span = s->max - s->min;
	switch (s->shape) {
	case SIM_SINE: {
		double period = s->period_s > 0 ? s->period_s : 60;
		return s->min + span * (0.5 + 0.5 * sin(2 * M_PI * t_s / period));
	}
	case SIM_RANDOM_WALK:
		s->value += (next_unit(&s->rng) * 2 - 1) * s->step;
		if (s->value < s->min)
			s->value = s->min + (s->min - s->value);
		if (s->value > s->max)
			s->value = s->max - (s->value - s->max);
		if (s->value < s->min || s->value > s->max)
			s->value = (s->min + s->max) / 2;
		return s->value;
	case SIM_STEP: {
		/* climbs from min by `step` every period, back to min past max */
		double period = s->period_s > 0 ? s->period_s : 60;
		double levels = s->step > 0 ? floor(span / s->step) + 1 : 1;
		double level = fmod(floor(t_s / period), levels);
		return s->min + level * s->step;
	}
	case SIM_CONSTANT:
		return s->min;
	}
	return s->min;
}
