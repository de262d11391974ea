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

static DEFINE_MUTEX(lab_mutex);
static DEFINE_MUTEX(lab_mutex_b);
static DEFINE_MUTEX(lab_abba_a);
static DEFINE_MUTEX(lab_abba_b);
static DECLARE_RWSEM(lab_rwsem);
static DEFINE_SPINLOCK(lab_spinlock);
static DECLARE_COMPLETION(lab_never);
static struct hrtimer lab_timer;

static int target_cpu(void)
{
	int c = cpu;

	if (c < 0 || c >= nr_cpu_ids || !cpu_online(c))
		c = cpumask_last(cpu_online_mask);
	return c;
}

static struct task_struct *lab_start(int (*fn)(void *), void *arg, const char *name, int bind)
{
	struct task_struct *t = kthread_create(fn, arg, "%s", name);

	if (IS_ERR(t))
		return t;
	if (bind >= 0)
		kthread_bind(t, bind);
	wake_up_process(t);
	return t;
}

/* ---- immediate crashes -------------------------------------------------- */

static noinline void lab_nullderef(void)
{
	*(volatile int *)NULL = 0x1ab;
}

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

static enum hrtimer_restart lab_timer_fn(struct hrtimer *t)
{
	*(volatile int *)NULL = 0x7173;
	return HRTIMER_NORESTART;
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

/* ---- lockups ------------------------------------------------------------ */

static noinline void lab_spin_forever(void)
{
	for (;;)
		cpu_relax();
}

/* Spin with preemption off: the soft-lockup watchdog fires on this CPU. */
static int lab_spinner(void *arg)
{
	preempt_disable();
	lab_spin_forever();
	return 0;
}

/* A CPU-bound kernel thread that yields: runnable, queued behind the spinner. */
static int lab_cpuhog(void *arg)
{
	while (!kthread_should_stop()) {
		cpu_relax();
		cond_resched();
	}
	return 0;
}

/* Takes lab_spinlock and never releases it (the leak). */
static noinline void lab_leak_spinlock(void)
{
	spin_lock(&lab_spinlock);
}

/* Spins on the leaked lock. */
static int lab_spin_locked(void *arg)
{
	spin_lock(&lab_spinlock);
	spin_unlock(&lab_spinlock);
	return 0;
}

/* ---- hung tasks ----------------------------------------------------------- */

/* Holder of a mutex that sleeps (TASK_IDLE, so it is not itself reported). */
static int lab_holder(void *arg)
{
	struct mutex *m = arg;

	mutex_lock(m);
	pr_info("labcrash: holder %d took %s\n", current->pid, m == &lab_mutex ? "lab_mutex" : "lab_mutex_b");
	for (;;)
		schedule_timeout_idle(HZ);
	return 0;
}

/* Holder that blocks on a completion nobody will signal, in a different function. */
static int lab_holder_blocked(void *arg)
{
	struct mutex *m = arg;

	mutex_lock(m);
	pr_info("labcrash: holder %d took %s\n", current->pid, m == &lab_mutex ? "lab_mutex" : "lab_mutex_b");
	/* A TASK_IDLE wait (6.1+): blocked, but not reported as a hung task itself. */
	for (;;)
		wait_for_completion_state(&lab_never, TASK_IDLE);
	return 0;
}

/* A waiter on a mutex: blocks in D state until the hung-task detector fires. */
static int lab_waiter(void *arg)
{
	struct mutex *m = arg;

	msleep(200);
	pr_info("labcrash: waiter %d blocking on %s\n", current->pid, m == &lab_mutex ? "lab_mutex" : m == &lab_mutex_b ? "lab_mutex_b" : "cgroup_mutex");
	mutex_lock(m);
	mutex_unlock(m);
	return 0;
}

static int lab_rwsem_writer(void *arg)
{
	down_write(&lab_rwsem);
	pr_info("labcrash: writer %d holds lab_rwsem\n", current->pid);
	for (;;)
		schedule_timeout_idle(HZ);
	return 0;
}

static int lab_rwsem_reader(void *arg)
{
	msleep(200);
	pr_info("labcrash: reader %d blocking on lab_rwsem\n", current->pid);
	down_read(&lab_rwsem);
	up_read(&lab_rwsem);
	return 0;
}

/* ABBA: A takes a then b, B takes b then a; both end up in D state. */
static int lab_abba_first(void *arg)
{
	mutex_lock(&lab_abba_a);
	msleep(300);
	mutex_lock(&lab_abba_b);
	return 0;
}

static int lab_abba_second(void *arg)
{
	mutex_lock(&lab_abba_b);
	msleep(300);
	mutex_lock(&lab_abba_a);
	return 0;
}

/*
 * The holder of cgroup_mutex, found at run time (cgroup_mutex is not
 * exported): it takes it and sleeps, so every cgroup mkdir/rmdir/attach
 * blocks behind it.
 */
static int lab_cgroup_holder(void *arg)
{
	struct mutex *m = (struct mutex *)cgmutex;

	mutex_lock(m);
	pr_info("labcrash: holder %d took cgroup_mutex\n", current->pid);
	for (;;)
		schedule_timeout_idle(HZ);
	return 0;
}

/*
 * /proc/labcrash: a user task writes "hold" to take lab_mutex in its own
 * context and then burn CPU inside the kernel while holding it. Placed in
 * a cgroup with a small cpu.max quota, the holder is throttled and the
 * waiters starve: a hung task whose cause is the cgroup, not the lock code.
 */
static void start_waiters(struct mutex *m, int n);

static noinline void lab_hold_busy(void)
{
	mutex_lock(&lab_mutex);
	pr_info("labcrash: holder %d took lab_mutex (busy)\n", current->pid);
	start_waiters(&lab_mutex, nr);
	for (;;) {
		udelay(500);
		cond_resched();
		if (signal_pending(current))
			break;
	}
	mutex_unlock(&lab_mutex);
}

static ssize_t lab_proc_write(struct file *f, const char __user *buf, size_t len, loff_t *off)
{
	char cmd[16] = {};

	if (copy_from_user(cmd, buf, min(len, sizeof(cmd) - 1)))
		return -EFAULT;
	if (!strncmp(cmd, "hold", 4))
		lab_hold_busy();
	return len;
}

static const struct proc_ops lab_proc_ops = {
	.proc_write = lab_proc_write,
};

/* RCU stall: a hog with preemption off on one CPU while another waits for a grace period. */
static int lab_rcu_hog(void *arg)
{
	preempt_disable();
	lab_spin_forever();
	return 0;
}

static int lab_rcu_waiter(void *arg)
{
	msleep(300);
	synchronize_rcu();
	return 0;
}

/* Noise: a kernel thread that sleeps, as most of a real machine's do. */
static int lab_sleeper(void *arg)
{
	while (!kthread_should_stop())
		schedule_timeout_interruptible(10 * HZ);
	return 0;
}

static void start_waiters(struct mutex *m, int n)
{
	int i;

	for (i = 0; i < n; i++)
		lab_start(lab_waiter, m, "labcrash-waiter", -1);
}

static int __init labcrash_init(void)
{
	int i, c;

	pr_info("labcrash: scenario=%s nr=%d site=%d sleepers=%d\n", scenario, nr, site, sleepers);
	for (i = 0; i < sleepers && i < 64; i++)
		lab_start(lab_sleeper, NULL, "labcrash-sleep", -1);
	if (!strcmp(scenario, "panic")) {
		panic("labcrash: deliberate panic");
	} else if (!strcmp(scenario, "bug")) {
		lab_bug();
	} else if (!strcmp(scenario, "nullderef")) {
		lab_nullderef();
	} else if (!strcmp(scenario, "warn")) {
		lab_warn();
	} else if (!strcmp(scenario, "divide")) {
		pr_info("labcrash: %d\n", lab_divide(0));
	} else if (!strcmp(scenario, "timer")) {
		hrtimer_init(&lab_timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
		lab_timer.function = lab_timer_fn;
		hrtimer_start(&lab_timer, ms_to_ktime(50), HRTIMER_MODE_REL);
	} else if (!strcmp(scenario, "listcorrupt")) {
		lab_listcorrupt();
	} else if (!strcmp(scenario, "uaf")) {
		lab_uaf();
	} else if (!strcmp(scenario, "softlockup")) {
		lab_start(lab_spinner, NULL, "labcrash-spin", target_cpu());
	} else if (!strcmp(scenario, "rqimbalance")) {
		/* CPU-bound threads pinned to one CPU, then a spinner there: the queue piles up behind it. */
		c = target_cpu();
		for (i = 0; i < max(nr, 1) * 2; i++)
			lab_start(lab_cpuhog, NULL, "labcrash-hog", c);
		msleep(500);
		lab_start(lab_spinner, NULL, "labcrash-spin", c);
	} else if (!strcmp(scenario, "spinlockup")) {
		lab_leak_spinlock();
		lab_start(lab_spin_locked, NULL, "labcrash-spin", -1);
	} else if (!strcmp(scenario, "hung")) {
		lab_start(lab_holder, &lab_mutex, "labcrash-holder", -1);
		msleep(100);
		start_waiters(&lab_mutex, nr);
	} else if (!strcmp(scenario, "hungb")) {
		lab_start(lab_holder_blocked, &lab_mutex_b, "labcrash-holder", -1);
		msleep(100);
		start_waiters(&lab_mutex_b, nr);
	} else if (!strcmp(scenario, "hungcg")) {
		/* The holder is a user task (see /proc/labcrash); it starts the waiters once it holds. */
		proc_create("labcrash", 0200, NULL, &lab_proc_ops);
	} else if (!strcmp(scenario, "rwsem")) {
		lab_start(lab_rwsem_writer, NULL, "labcrash-writer", -1);
		msleep(100);
		for (i = 0; i < nr; i++)
			lab_start(lab_rwsem_reader, NULL, "labcrash-reader", -1);
	} else if (!strcmp(scenario, "abba")) {
		if (site) {
			lab_start(lab_abba_second, NULL, "labcrash-abba-b", -1);
			lab_start(lab_abba_first, NULL, "labcrash-abba-a", -1);
		} else {
			lab_start(lab_abba_first, NULL, "labcrash-abba-a", -1);
			lab_start(lab_abba_second, NULL, "labcrash-abba-b", -1);
		}
	} else if (!strcmp(scenario, "cgmutex")) {
		if (!cgmutex) {
			pr_err("labcrash: cgmutex= (address of cgroup_mutex) is required\n");
			return -EINVAL;
		}
		lab_start(lab_cgroup_holder, NULL, "labcrash-cgholder", -1);
	} else if (!strcmp(scenario, "rcustall")) {
		c = target_cpu();
		lab_start(lab_rcu_hog, NULL, "labcrash-rcuhog", c);
		lab_start(lab_rcu_waiter, NULL, "labcrash-rcuwait", c ? 0 : -1);
	} else if (strcmp(scenario, "none")) {
		pr_err("labcrash: unknown scenario %s\n", scenario);
		return -EINVAL;
	}
	return 0;
}

module_init(labcrash_init);
/* No module_exit: a crash scenario is not unloaded. */
