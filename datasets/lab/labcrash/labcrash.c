// SPDX-License-Identifier: GPL-2.0
/*
 * labcrash: VAAT's crash-scenario module. Debian's kernels ship no lkdtm,
 * so every root cause the lab labels is made here, one scenario per
 * `scenario=` value. Loaded by the lab's guest init with the scenario's
 * parameters; most scenarios start kernel threads and return, so the crash
 * happens in a realistic context (a kthread, a timer, a blocked holder)
 * rather than in module init.
 *
 * Parameters:
 *   scenario  which root cause (see the table in labcrash_init)
 *   nr        how many waiters / spinners / workers (default 2)
 *   site      which of two code paths the scenario takes (0 or 1), for
 *             root causes that panic in different places across runs
 *   cpu       CPU to pin spinners / hogs to (-1: the last online CPU)
 *   cgmutex   address of cgroup_mutex (from /proc/kallsyms: it is not exported)
 *   sleepers  background noise: kernel threads that just sleep (scenario or not)
 *   lock, lock2        the locks a scenario uses, by name, from the pools below
 *   fn, fn2, fn3       the functions its threads run, by name, from the pool below
 *   comm, comm2, comm3 its threads' names (free strings)
 *
 * Names are drawn per run by the host (datasets/lab/names.json), so that no
 * lock, function or thread name identifies a root cause: scenarios that share
 * a symptom differ only in mechanism (what the holder is doing, in which
 * context the fault happens), which is what the machine state must show.
 * The pools are the same for every scenario; an unknown name fails the load.
 */

#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/kthread.h>
#include <linux/delay.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/spinlock.h>
#include <linux/slab.h>
#include <linux/list.h>
#include <linux/hrtimer.h>
#include <linux/completion.h>
#include <linux/proc_fs.h>
#include <linux/uaccess.h>
#include <linux/sched.h>
#include <linux/cpumask.h>
#include <linux/rcupdate.h>
#include <linux/preempt.h>
#include <linux/bug.h>
#include <linux/timer.h>
#include <linux/string.h>
#include <linux/workqueue.h>
#include <linux/refcount.h>

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("VAAT lab crash scenarios");

static char *scenario = "none";
module_param(scenario, charp, 0444);
static int nr = 2;
module_param(nr, int, 0444);
static int site;
module_param(site, int, 0444);
static int cpu = -1;
module_param(cpu, int, 0444);
static unsigned long cgmutex;
module_param(cgmutex, ulong, 0444);
static int sleepers;
module_param(sleepers, int, 0444);

static char *lock = "dev_mutex";
module_param(lock, charp, 0444);
static char *lock2 = "cfg_mutex";
module_param(lock2, charp, 0444);
static char *fn = "xfer_worker";
module_param(fn, charp, 0444);
static char *fn2 = "ctrl_thread";
module_param(fn2, charp, 0444);
static char *fn3 = "health_poll";
module_param(fn3, charp, 0444);
static char *comm = "labcrash-a";
module_param(comm, charp, 0444);
static char *comm2 = "labcrash-b";
module_param(comm2, charp, 0444);
static char *comm3 = "labcrash-c";
module_param(comm3, charp, 0444);

/* ---- the name pools ------------------------------------------------------ */

/* Locks a driver might have; each is a module symbol, found by name in the dump. */
static DEFINE_MUTEX(dev_mutex);
static DEFINE_MUTEX(cfg_mutex);
static DEFINE_MUTEX(io_mutex);
static DEFINE_MUTEX(state_mutex);
static DEFINE_MUTEX(reset_mutex);
static DEFINE_MUTEX(fw_mutex);
static DEFINE_MUTEX(queue_mutex);
static DEFINE_MUTEX(ctrl_mutex);
static DECLARE_RWSEM(cfg_rwsem);
static DECLARE_RWSEM(map_rwsem);
static DECLARE_RWSEM(tbl_rwsem);
static DECLARE_RWSEM(ns_rwsem);
static DEFINE_SPINLOCK(stat_lock);
static DEFINE_SPINLOCK(tx_lock);
static DEFINE_SPINLOCK(ring_lock);
static DEFINE_SPINLOCK(irq_state_lock);

struct lab_named { const char *name; void *obj; };

static const struct lab_named lab_mutexes[] = {
	{ "dev_mutex", &dev_mutex }, { "cfg_mutex", &cfg_mutex }, { "io_mutex", &io_mutex },
	{ "state_mutex", &state_mutex }, { "reset_mutex", &reset_mutex }, { "fw_mutex", &fw_mutex },
	{ "queue_mutex", &queue_mutex }, { "ctrl_mutex", &ctrl_mutex },
};
static const struct lab_named lab_rwsems[] = {
	{ "cfg_rwsem", &cfg_rwsem }, { "map_rwsem", &map_rwsem }, { "tbl_rwsem", &tbl_rwsem }, { "ns_rwsem", &ns_rwsem },
};
static const struct lab_named lab_spinlocks[] = {
	{ "stat_lock", &stat_lock }, { "tx_lock", &tx_lock }, { "ring_lock", &ring_lock }, { "irq_state_lock", &irq_state_lock },
};

static void *lab_find(const struct lab_named *t, int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(t[i].name, name))
			return t[i].obj;
	return NULL;
}

/*
 * What a thread of a scenario does. Every pool function runs the same body
 * (inlined into it), so a stack shows the drawn function's name and the
 * kernel primitives the role blocks in — never a role-specific function.
 */
enum lab_role {
	HOLD_SLEEP,		/* take the mutex, sleep forever */
	HOLD_COMPLETION,	/* take the mutex, wait for a completion nobody signals */
	HOLD_THEN_LOCK,		/* take the mutex, then block on the second one (a chain) */
	WAIT_MUTEX,		/* block on the mutex */
	HOLD_RW_SLEEP,		/* take the rwsem for write, sleep forever */
	WAIT_RW,		/* block on the rwsem for read */
	ABBA,			/* take the mutex, pause, take the second */
	HOLD_BUSY,		/* take the mutex, start the waiters, burn CPU (a user task in a throttled cgroup) */
	SPIN_PREEMPT_OFF,	/* spin with preemption disabled */
	SPIN_ON_LOCK,		/* spin on the leaked spinlock */
	HOG,			/* CPU-bound, but yields */
	RCU_WAIT,		/* wait for a grace period */
	FAULT,			/* write through NULL */
	HOLD_FLUSH,		/* take the mutex, then flush a work item that needs it (a workqueue deadlock) */
	HOLD_RW_READ_SLEEP,	/* take the rwsem for read, sleep forever */
	WAIT_RW_WRITE,		/* block on the rwsem for write */
	DOUBLE_FREE,		/* free one object twice */
	REF_UNDERFLOW,		/* drop a reference nobody holds any more */
};

struct lab_job {
	/*
	 * First, so a job queued as a work item runs a pool function too: the
	 * worker calls it with the work_struct, which is the job's address.
	 */
	struct work_struct work;
	enum lab_role role;
	void *obj;
	void *obj2;
	const char *name;
};

static DECLARE_COMPLETION(lab_never);
static struct lab_job lab_wq_job;
static refcount_t lab_ref = REFCOUNT_INIT(1);
static struct hrtimer lab_hrtimer;
static struct timer_list lab_timer;
static void start_waiters(void *m, const char *name, int n);

static __always_inline int lab_body(struct lab_job *j)
{
	switch (j->role) {
	case HOLD_SLEEP:
		mutex_lock(j->obj);
		pr_info("labcrash: holder %d took %s\n", current->pid, j->name);
		for (;;)
			schedule_timeout_idle(HZ);
	case HOLD_COMPLETION:
		mutex_lock(j->obj);
		pr_info("labcrash: holder %d took %s\n", current->pid, j->name);
		/* A TASK_IDLE wait (6.1+): blocked, but not reported as a hung task itself. */
		for (;;)
			wait_for_completion_state(&lab_never, TASK_IDLE);
	case HOLD_THEN_LOCK:
		mutex_lock(j->obj);
		pr_info("labcrash: holder %d took %s\n", current->pid, j->name);
		msleep(100);
		mutex_lock(j->obj2);
		mutex_unlock(j->obj2);
		mutex_unlock(j->obj);
		return 0;
	case WAIT_MUTEX:
		msleep(200);
		pr_info("labcrash: waiter %d blocking on %s\n", current->pid, j->name);
		mutex_lock(j->obj);
		mutex_unlock(j->obj);
		return 0;
	case HOLD_RW_SLEEP:
		down_write(j->obj);
		pr_info("labcrash: writer %d holds %s\n", current->pid, j->name);
		for (;;)
			schedule_timeout_idle(HZ);
	case WAIT_RW:
		msleep(200);
		pr_info("labcrash: reader %d blocking on %s\n", current->pid, j->name);
		down_read(j->obj);
		up_read(j->obj);
		return 0;
	case ABBA:
		mutex_lock(j->obj);
		msleep(300);
		mutex_lock(j->obj2);
		return 0;
	case HOLD_BUSY:
		mutex_lock(j->obj);
		pr_info("labcrash: holder %d took %s (busy)\n", current->pid, j->name);
		start_waiters(j->obj, j->name, nr);
		for (;;) {
			udelay(500);
			cond_resched();
			if (signal_pending(current))
				break;
		}
		mutex_unlock(j->obj);
		return 0;
	case SPIN_PREEMPT_OFF:
		preempt_disable();
		for (;;)
			cpu_relax();
	case SPIN_ON_LOCK:
		spin_lock(j->obj);
		spin_unlock(j->obj);
		return 0;
	case HOG:
		while (!kthread_should_stop()) {
			cpu_relax();
			cond_resched();
		}
		return 0;
	case RCU_WAIT:
		msleep(300);
		synchronize_rcu();
		return 0;
	case FAULT:
		*(volatile int *)NULL = 0x1ab;
		return 0;
	case HOLD_FLUSH:
		mutex_lock(j->obj);
		pr_info("labcrash: holder %d took %s, flushing its work\n", current->pid, j->name);
		queue_work(system_wq, &lab_wq_job.work);
		flush_work(&lab_wq_job.work);	/* the work blocks on the mutex we hold */
		mutex_unlock(j->obj);
		return 0;
	case HOLD_RW_READ_SLEEP:
		down_read(j->obj);
		pr_info("labcrash: reader %d holds %s\n", current->pid, j->name);
		for (;;)
			schedule_timeout_idle(HZ);
	case WAIT_RW_WRITE:
		msleep(200);
		pr_info("labcrash: writer %d blocking on %s\n", current->pid, j->name);
		down_write(j->obj);
		up_write(j->obj);
		return 0;
	case DOUBLE_FREE: {
		void *volatile p = kzalloc(64, GFP_KERNEL);

		if (!p)
			return -ENOMEM;
		/* One CPU's freelist both times: the second free finds the object at its head. */
		preempt_disable();
		kfree(p);
		kfree(p);
		preempt_enable();
		return 0;
	}
	case REF_UNDERFLOW:
		if (refcount_dec_and_test(&lab_ref))
			pr_info("labcrash: last reference dropped\n");
		refcount_dec_and_test(&lab_ref);	/* once more: the bug */
		return 0;
	}
	return 0;
}

#define LAB_FN(name) static noinline int name(void *arg) { return lab_body(arg); }
LAB_FN(xfer_worker)
LAB_FN(ctrl_thread)
LAB_FN(health_poll)
LAB_FN(reset_handler)
LAB_FN(fw_loader)
LAB_FN(event_loop)
LAB_FN(rx_refill)
LAB_FN(sync_task)

static const struct lab_named lab_fns[] = {
	{ "xfer_worker", xfer_worker }, { "ctrl_thread", ctrl_thread }, { "health_poll", health_poll },
	{ "reset_handler", reset_handler }, { "fw_loader", fw_loader }, { "event_loop", event_loop },
	{ "rx_refill", rx_refill }, { "sync_task", sync_task },
};

typedef int (*lab_fn_t)(void *);
static lab_fn_t f1, f2, f3;

/* ---- immediate crashes -------------------------------------------------- */

static noinline void lab_bug(void)
{
	BUG();
}

static noinline void lab_warn(void)
{
	WARN(1, "labcrash: deliberate warning");
}

static noinline int lab_divide(int by)
{
	volatile int zero = by;

	return 1000 / zero;
}

struct lab_item {
	struct list_head node;
	unsigned long payload[6];
};

static LIST_HEAD(lab_list);

/*
 * list_add after an entry whose next pointer was overwritten (here with a
 * stray object): CONFIG_DEBUG_LIST finds next->prev != prev and, with
 * BUG_ON_DATA_CORRUPTION, BUGs.
 */
static noinline void lab_listcorrupt(void)
{
	struct lab_item *a = kzalloc(sizeof(*a), GFP_KERNEL);
	struct lab_item *b = kzalloc(sizeof(*b), GFP_KERNEL);
	struct lab_item *stray = kzalloc(sizeof(*stray), GFP_KERNEL);

	if (!a || !b || !stray)
		return;
	list_add(&a->node, &lab_list);
	a->node.next = &stray->node;	/* the corruption */
	list_add(&b->node, &a->node);
}

/*
 * Use after free: an item is freed while still on the list; the freed
 * memory is poisoned (slub_debug=P) or reused, and the next list operation
 * through it trips DEBUG_LIST's checks. Which operation finds it depends on
 * `site`: the same root cause panics in lab_uaf_del or in lab_uaf_add.
 */
static noinline void lab_uaf_del(struct lab_item *victim)
{
	list_del(&victim->node);
}

static noinline void lab_uaf_add(void)
{
	struct lab_item *n = kzalloc(sizeof(*n), GFP_KERNEL);

	if (n)
		list_add_tail(&n->node, &lab_list);
}

static noinline void lab_uaf(void)
{
	struct lab_item *a = kzalloc(sizeof(*a), GFP_KERNEL);
	struct lab_item *b = kzalloc(sizeof(*b), GFP_KERNEL);

	if (!a || !b)
		return;
	list_add_tail(&a->node, &lab_list);
	list_add_tail(&b->node, &lab_list);
	kfree(b);		/* still linked: the bug */
	memset(b, 0x6b, sizeof(*b));	/* what slab poisoning does, without relying on slub_debug */
	if (site)
		lab_uaf_add();
	else
		lab_uaf_del(b);
}

/* ---- threads -------------------------------------------------------------- */

static int target_cpu(void)
{
	int c = cpu;

	if (c < 0 || c >= nr_cpu_ids || !cpu_online(c))
		c = cpumask_last(cpu_online_mask);
	return c;
}

/* Jobs live for the module's lifetime (it is never unloaded): up to 64 threads. */
static struct lab_job lab_jobs[64];
static int lab_njobs;

static struct task_struct *lab_start(lab_fn_t f, enum lab_role role, void *obj, void *obj2, const char *name,
				     const char *tcomm, int bind)
{
	struct lab_job *j;
	struct task_struct *t;

	if (lab_njobs >= ARRAY_SIZE(lab_jobs))
		return ERR_PTR(-ENOSPC);
	j = &lab_jobs[lab_njobs++];
	j->role = role;
	j->obj = obj;
	j->obj2 = obj2;
	j->name = name;
	t = kthread_create(f, j, "%s", tcomm);
	if (IS_ERR(t))
		return t;
	if (bind >= 0)
		kthread_bind(t, bind);
	wake_up_process(t);
	return t;
}

static void start_waiters(void *m, const char *name, int n)
{
	int i;

	for (i = 0; i < n; i++)
		lab_start(f2, WAIT_MUTEX, m, NULL, name, comm2, -1);
}

/* The same fault from three contexts: process (module init), hardirq (hrtimer), softirq (timer). */
static struct lab_job lab_fault = { .role = FAULT };

static enum hrtimer_restart lab_hrtimer_fn(struct hrtimer *t)
{
	f1(&lab_fault);
	return HRTIMER_NORESTART;
}

static void lab_timer_fn(struct timer_list *t)
{
	f1(&lab_fault);
}

/*
 * /proc/labcrash: a user task writes "hold" to take the mutex in its own
 * context and then burn CPU inside the kernel while holding it. Placed in
 * a cgroup with a small cpu.max quota, the holder is throttled and the
 * waiters starve: a hung task whose cause is the cgroup, not the lock code.
 */
static struct lab_job lab_busy = { .role = HOLD_BUSY };

static ssize_t lab_proc_write(struct file *f, const char __user *buf, size_t len, loff_t *off)
{
	char cmd[16] = {};

	if (copy_from_user(cmd, buf, min(len, sizeof(cmd) - 1)))
		return -EFAULT;
	if (!strncmp(cmd, "hold", 4))
		f1(&lab_busy);
	return len;
}

static const struct proc_ops lab_proc_ops = {
	.proc_write = lab_proc_write,
};

/* Noise: a kernel thread that sleeps, as most of a real machine's do. */
static int lab_sleeper(void *arg)
{
	while (!kthread_should_stop())
		schedule_timeout_interruptible(10 * HZ);
	return 0;
}

static int __init labcrash_init(void)
{
	void *m = lab_find(lab_mutexes, ARRAY_SIZE(lab_mutexes), lock);
	void *m2 = lab_find(lab_mutexes, ARRAY_SIZE(lab_mutexes), lock2);
	int i, c;

	f1 = lab_find(lab_fns, ARRAY_SIZE(lab_fns), fn);
	f2 = lab_find(lab_fns, ARRAY_SIZE(lab_fns), fn2);
	f3 = lab_find(lab_fns, ARRAY_SIZE(lab_fns), fn3);
	if (!f1 || !f2 || !f3) {
		pr_err("labcrash: unknown function name (fn=%s fn2=%s fn3=%s)\n", fn, fn2, fn3);
		return -EINVAL;
	}
	pr_info("labcrash: scenario=%s nr=%d site=%d sleepers=%d lock=%s lock2=%s fn=%s fn2=%s fn3=%s\n",
		scenario, nr, site, sleepers, lock, lock2, fn, fn2, fn3);
	for (i = 0; i < sleepers && i < 32; i++) {
		struct task_struct *t = kthread_create(lab_sleeper, NULL, "bg-poll/%d", i);

		if (!IS_ERR(t))
			wake_up_process(t);
	}
	/* Scenarios on a mutex of the pool (or on a rwsem / spinlock of theirs). */
	if (!strcmp(scenario, "hung") || !strcmp(scenario, "hungb") || !strcmp(scenario, "hungchain") ||
	    !strcmp(scenario, "hungcg") || !strcmp(scenario, "abba") || !strcmp(scenario, "hungwq")) {
		if (!m || !m2 || m == m2) {
			pr_err("labcrash: lock=%s lock2=%s: two different mutexes of the pool are needed\n", lock, lock2);
			return -EINVAL;
		}
	}
	if (!strcmp(scenario, "panic")) {
		panic("labcrash: deliberate panic");
	} else if (!strcmp(scenario, "bug")) {
		lab_bug();
	} else if (!strcmp(scenario, "nullderef")) {
		f1(&lab_fault);
	} else if (!strcmp(scenario, "warn")) {
		lab_warn();
	} else if (!strcmp(scenario, "divide")) {
		pr_info("labcrash: %d\n", lab_divide(0));
	} else if (!strcmp(scenario, "timer")) {
		hrtimer_init(&lab_hrtimer, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
		lab_hrtimer.function = lab_hrtimer_fn;
		hrtimer_start(&lab_hrtimer, ms_to_ktime(50), HRTIMER_MODE_REL);
	} else if (!strcmp(scenario, "softirq")) {
		timer_setup(&lab_timer, lab_timer_fn, 0);
		mod_timer(&lab_timer, jiffies + msecs_to_jiffies(50));
	} else if (!strcmp(scenario, "listcorrupt")) {
		lab_listcorrupt();
	} else if (!strcmp(scenario, "uaf")) {
		lab_uaf();
	} else if (!strcmp(scenario, "softlockup")) {
		lab_start(f1, SPIN_PREEMPT_OFF, NULL, NULL, NULL, comm, target_cpu());
	} else if (!strcmp(scenario, "rqimbalance")) {
		/* CPU-bound threads pinned to one CPU, then a spinner there: the queue piles up behind it. */
		c = target_cpu();
		for (i = 0; i < max(nr, 1) * 2; i++)
			lab_start(f2, HOG, NULL, NULL, NULL, comm2, c);
		msleep(500);
		lab_start(f1, SPIN_PREEMPT_OFF, NULL, NULL, NULL, comm, c);
	} else if (!strcmp(scenario, "spinlockup")) {
		void *sl = lab_find(lab_spinlocks, ARRAY_SIZE(lab_spinlocks), lock);

		if (!sl) {
			pr_err("labcrash: lock=%s is not a spinlock of the pool\n", lock);
			return -EINVAL;
		}
		/*
		 * The leak: the lock word is taken and never released, as by a path
		 * that returned without unlocking. Taken raw, so init itself does not
		 * keep preemption disabled (which would make its next sleep a
		 * "scheduling while atomic" bug instead of the spinner's lockup).
		 */
		do_raw_spin_lock(&((spinlock_t *)sl)->rlock);
		lab_start(f1, SPIN_ON_LOCK, sl, NULL, lock, comm, -1);
	} else if (!strcmp(scenario, "hung")) {
		lab_start(f1, HOLD_SLEEP, m, NULL, lock, comm, -1);
		msleep(100);
		start_waiters(m, lock, nr);
	} else if (!strcmp(scenario, "hungb")) {
		lab_start(f1, HOLD_COMPLETION, m, NULL, lock, comm, -1);
		msleep(100);
		start_waiters(m, lock, nr);
	} else if (!strcmp(scenario, "hungchain")) {
		/* The waiters' holder is itself blocked on a second mutex, held by a sleeping third task. */
		lab_start(f3, HOLD_SLEEP, m2, NULL, lock2, comm3, -1);
		msleep(100);
		lab_start(f1, HOLD_THEN_LOCK, m, m2, lock, comm, -1);
		msleep(50);
		start_waiters(m, lock, nr);
	} else if (!strcmp(scenario, "hungcg")) {
		/* The holder is a user task (see /proc/labcrash); it starts the waiters once it holds. */
		lab_busy.obj = m;
		lab_busy.name = lock;
		proc_create("labcrash", 0200, NULL, &lab_proc_ops);
	} else if (!strcmp(scenario, "rwsem")) {
		void *rw = lab_find(lab_rwsems, ARRAY_SIZE(lab_rwsems), lock);

		if (!rw) {
			pr_err("labcrash: lock=%s is not a rwsem of the pool\n", lock);
			return -EINVAL;
		}
		lab_start(f1, HOLD_RW_SLEEP, rw, NULL, lock, comm, -1);
		msleep(100);
		for (i = 0; i < nr; i++)
			lab_start(f2, WAIT_RW, rw, NULL, lock, comm2, -1);
	} else if (!strcmp(scenario, "abba")) {
		/* Either thread may start first (site): the hung-task report names either. */
		if (site) {
			lab_start(f2, ABBA, m2, m, lock2, comm2, -1);
			lab_start(f1, ABBA, m, m2, lock, comm, -1);
		} else {
			lab_start(f1, ABBA, m, m2, lock, comm, -1);
			lab_start(f2, ABBA, m2, m, lock2, comm2, -1);
		}
	} else if (!strcmp(scenario, "cgmutex")) {
		if (!cgmutex) {
			pr_err("labcrash: cgmutex= (address of cgroup_mutex) is required\n");
			return -EINVAL;
		}
		/* cgroup_mutex is a real kernel lock: every cgroup mkdir/rmdir/attach blocks behind its holder. */
		lab_start(f1, HOLD_SLEEP, (void *)cgmutex, NULL, "cgroup_mutex", comm, -1);
	} else if (!strcmp(scenario, "hungwq")) {
		/* The work item runs a pool function in a kworker and blocks on the holder's mutex. */
		lab_wq_job.role = WAIT_MUTEX;
		lab_wq_job.obj = m;
		lab_wq_job.name = lock;
		INIT_WORK(&lab_wq_job.work, (work_func_t)(void *)f2);
		lab_start(f1, HOLD_FLUSH, m, NULL, lock, comm, -1);
		msleep(100);
		start_waiters(m, lock, nr);
	} else if (!strcmp(scenario, "rwsemread")) {
		void *rw = lab_find(lab_rwsems, ARRAY_SIZE(lab_rwsems), lock);

		if (!rw) {
			pr_err("labcrash: lock=%s is not a rwsem of the pool\n", lock);
			return -EINVAL;
		}
		lab_start(f1, HOLD_RW_READ_SLEEP, rw, NULL, lock, comm, -1);
		msleep(100);
		for (i = 0; i < nr; i++)
			lab_start(f2, WAIT_RW_WRITE, rw, NULL, lock, comm2, -1);
	} else if (!strcmp(scenario, "doublefree")) {
		static struct lab_job df = { .role = DOUBLE_FREE };

		f1(&df);
	} else if (!strcmp(scenario, "refcount")) {
		static struct lab_job ref = { .role = REF_UNDERFLOW };

		f1(&ref);
	} else if (!strcmp(scenario, "rcustall")) {
		c = target_cpu();
		lab_start(f1, SPIN_PREEMPT_OFF, NULL, NULL, NULL, comm, c);
		lab_start(f2, RCU_WAIT, NULL, NULL, NULL, comm2, c ? 0 : -1);
	} else if (strcmp(scenario, "none")) {
		pr_err("labcrash: unknown scenario %s\n", scenario);
		return -EINVAL;
	}
	return 0;
}

module_init(labcrash_init);
/* No module_exit: a crash scenario is not unloaded. */
