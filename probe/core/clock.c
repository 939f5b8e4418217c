/* clock: monotonic time and deadlines (see clock.h). */
#include "core/clock.h"

#include <time.h>

static uint64_t clock_read_us(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* A test's clock; 0 = the real one. Set only by single-threaded tests. */
static uint64_t clock_fake_us;

void clock_set_fake(uint64_t now_us)
{
	clock_fake_us = now_us;
}

uint64_t clock_now_us(void)
{
	if (clock_fake_us != 0)
		return clock_fake_us;
	return clock_read_us(CLOCK_MONOTONIC);
}

uint64_t clock_now_ms(void)
{
	return clock_now_us() / 1000u;
}

uint64_t clock_cpu_us(void)
{
	return clock_read_us(CLOCK_PROCESS_CPUTIME_ID);
}

void deadline_set(struct deadline *d, uint64_t timeout_ms)
{
	d->at_ms = clock_now_ms() + timeout_ms;
}

uint64_t deadline_remaining(const struct deadline *d)
{
	uint64_t now = clock_now_ms();

	return now >= d->at_ms ? 0 : d->at_ms - now;
}

int deadline_expired(const struct deadline *d)
{
	return deadline_remaining(d) == 0;
}
