/*
 * offload: one worker thread, a FIFO of jobs, an eventfd back to the loop (contract in
 * offload.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* pthread_setname_np */
#endif
#include "core/offload.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/xalloc.h"

struct offload_job {
	void *job;
	offload_fn *work, *done, *discard;
	struct offload_job *next;
};

struct offload_list {
	struct offload_job *head, *tail;
};

struct offload {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct offload_list queued;   /* waiting for the worker */
	struct offload_list finished; /* worked, done() not yet run */
	unsigned pending;             /* queued + running + finished */
	bool stop;
	int wake_fd;
	struct event *wake;
};

static void list_push(struct offload_list *l, struct offload_job *j)
{
	j->next = NULL;
	if (l->tail != NULL)
		l->tail->next = j;
	else
		l->head = j;
	l->tail = j;
}

static struct offload_job *list_pop(struct offload_list *l)
{
	struct offload_job *j = l->head;

	if (j != NULL) {
		l->head = j->next;
		if (l->head == NULL)
			l->tail = NULL;
	}
	return j;
}

static void *offload_worker(void *arg)
{
	struct offload *o = arg;

	pthread_mutex_lock(&o->mu);
	for (;;) {
		struct offload_job *j;
		uint64_t one = 1;
		ssize_t w;
		while (!o->stop && o->queued.head == NULL)
			pthread_cond_wait(&o->cv, &o->mu);
		if (o->stop)
			break;
		j = list_pop(&o->queued);
		pthread_mutex_unlock(&o->mu);
		j->work(j->job);
		pthread_mutex_lock(&o->mu);
		list_push(&o->finished, j);
		w = write(o->wake_fd, &one, sizeof one);
		(void)w; /* an eventfd counter does not fill up in practice */
	}
	pthread_mutex_unlock(&o->mu);
	return NULL;
}

static void offload_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct offload *o = arg;
	struct offload_list done;
	uint64_t count;
	ssize_t r = read(fd, &count, sizeof count);

	(void)r;
	(void)what;
	pthread_mutex_lock(&o->mu);
	done = o->finished;
	o->finished.head = o->finished.tail = NULL;
	pthread_mutex_unlock(&o->mu);
	for (struct offload_job *j = list_pop(&done); j != NULL; j = list_pop(&done)) {
		pthread_mutex_lock(&o->mu);
		o->pending--;
		pthread_mutex_unlock(&o->mu);
		j->done(j->job);
		free(j);
	}
}

struct offload *offload_new(struct event_base *base, const char *name)
{
	struct offload *o = xcalloc(1, sizeof *o);

	pthread_mutex_init(&o->mu, NULL);
	pthread_cond_init(&o->cv, NULL);
	o->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (o->wake_fd == -1)
		goto bad;
	o->wake = event_new(base, o->wake_fd, EV_READ | EV_PERSIST, offload_wake_cb, o);
	if (o->wake == NULL || event_add(o->wake, NULL) == -1)
		goto bad;
	if (pthread_create(&o->thread, NULL, offload_worker, o) != 0)
		goto bad;
#ifdef __GLIBC__
	if (name != NULL)
		pthread_setname_np(o->thread, name);
#else
	(void)name;
#endif
	return o;
bad:
	if (o->wake != NULL)
		event_free(o->wake);
	if (o->wake_fd != -1)
		close(o->wake_fd);
	pthread_cond_destroy(&o->cv);
	pthread_mutex_destroy(&o->mu);
	free(o);
	return NULL;
}

static void discard_all(struct offload_list *l)
{
	for (struct offload_job *j = list_pop(l); j != NULL; j = list_pop(l)) {
		if (j->discard != NULL)
			j->discard(j->job);
		free(j);
	}
}

void offload_free(struct offload *o)
{
	if (o == NULL)
		return;
	pthread_mutex_lock(&o->mu);
	o->stop = true;
	pthread_cond_signal(&o->cv);
	pthread_mutex_unlock(&o->mu);
	pthread_join(o->thread, NULL);
	discard_all(&o->queued);
	discard_all(&o->finished);
	event_free(o->wake);
	close(o->wake_fd);
	pthread_cond_destroy(&o->cv);
	pthread_mutex_destroy(&o->mu);
	free(o);
}

void offload_submit(struct offload *o, void *job, offload_fn *work, offload_fn *done,
                    offload_fn *discard)
{
	struct offload_job *j = xcalloc(1, sizeof *j);

	j->job = job;
	j->work = work;
	j->done = done;
	j->discard = discard;
	pthread_mutex_lock(&o->mu);
	list_push(&o->queued, j);
	o->pending++;
	pthread_cond_signal(&o->cv);
	pthread_mutex_unlock(&o->mu);
}

unsigned offload_pending(struct offload *o)
{
	unsigned n;

	pthread_mutex_lock(&o->mu);
	n = o->pending;
	pthread_mutex_unlock(&o->mu);
	return n;
}
