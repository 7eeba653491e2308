/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Layouts shared by colo_rewrite.bpf.c and `colo-xdp secondary`: the
 * table of TCP connections the secondary's rewriter tracks, its
 * configuration, its counters, and the agent's record.
 *
 * A connection's offsets map the secondary's sequence and timestamp
 * spaces onto the primary's. An entry is valid only in the checkpoint
 * epoch it was made in: a checkpoint makes the secondary a copy of the
 * primary, every offset 0, which is what no entry means; bumping the
 * epoch in the configuration clears them all at once, and the agent's
 * sweep deletes the stale entries later.
 */
#ifndef COLO_REWRITE_H
#define COLO_REWRITE_H

#ifndef __bpf__
#include <linux/types.h>
#endif

/* Pin names (15 characters at most) in the agent's pin directory. */
#define COLO_RW_MAP_CONNS "colo_rw_conns"
#define COLO_RW_MAP_CONFIG "colo_rw_config"
#define COLO_RW_MAP_STATS "colo_rw_stats"
#define COLO_RW_MAP_MACS "colo_rw_macs"
#define COLO_RW_MAP_AGENT "colo_secondary"
#define COLO_RW_PROG_IN "colo_rw_in"
#define COLO_RW_PROG_OUT "colo_rw_out"

/* Connections tracked at once when --max-connections is not given. */
#define COLO_RW_CONNS_DEFAULT 65536
/* The VM's own MAC addresses learned from its frames. */
#define COLO_RW_MAX_MACS 16

/*
 * A connection, seen from the VM: its address and port, the peer's. The
 * VLAN id as in struct colo_flow_key (COLO_VLAN_PRESENT | id, or 0).
 */
struct colo_rw_key {
	__u8 vaddr[16]; /* IPv4 in the first 4 bytes, network order */
	__u8 paddr[16];
	__u16 vport; /* host order */
	__u16 pport;
	__u16 vlan;
	__u8 ipver;
	__u8 pad;
};

enum colo_rw_state {
	/* the VM opened it: its SYN seen, the SYN-ACK's ACK will teach */
	COLO_RW_SYN_SENT = 0,
	/* the VM accepted it: its SYN-ACK seen, the peer's ACK will teach */
	COLO_RW_SYN_RCVD,
	COLO_RW_LEARNED, /* offsets known: rewritten both ways */
	/* FIN both ways, or RST: rewritten until the sweep removes it */
	COLO_RW_CLOSED,
};

/* colo_rw_conn.flags */
#define COLO_RW_TS 0x01 /* timestamps: the VM's handshake had them */
#define COLO_RW_TS_MAPPED 0x02 /* and both sides use them: mapped */

/*
 * Offsets are the secondary's value minus the primary's, mod 2^32: from
 * the VM, seq - seq_off and TSval - ts_off; to it, ack and SACK edges +
 * seq_off and TSecr + ts_off.
 */
struct colo_rw_conn {
	__u64 last_ns; /* bpf_ktime_get_ns(): the last frame, coarsely */
	__u32 epoch; /* colo_rw_config.epoch when made */
	__u32 isn; /* the VM's initial sequence number */
	__u32 tsval; /* the VM's TSval in its SYN or SYN-ACK */
	/* SYN_RCVD: the peer's ISN + 1, which its first ACK must carry */
	__u32 peer_nxt;
	__u32 seq_off;
	__u32 ts_off;
	/*
	 * In the primary's space, the end of what the VM sent: a SACK block
	 * past it acknowledges data that was never sent.
	 */
	__u32 snd_nxt;
	__u8 state; /* enum colo_rw_state */
	__u8 flags; /* COLO_RW_TS* */
	/* a FIN seen from each side; a byte each, so each direction writes its own */
	__u8 fin_vm;
	__u8 fin_peer;
};

/*
 * colo_rw_config, one entry, mmapped by the agent: what it sets at start
 * and at a checkpoint; the tc program counts the MACs it learns.
 */
struct colo_rw_config {
	__u32 epoch; /* bumped at each checkpoint: older entries are stale */
	__u32 vm_ifindex; /* where frames from the link go */
	__u32 link_ifindex; /* where frames from the VM go */
	__u32 vm_macs; /* entries in colo_rw_macs */
	__u32 macs_full; /* a MAC did not fit: every frame goes to the VM */
	__u8 link_mac[6]; /* frames to it are the secondary host's own */
	__u8 pad[2];
	/*
	 * The primary host is gone: the VM's frames go out of
	 * failover_ifindex, tracked connections keep their offsets, new
	 * ones are not tracked.
	 */
	__u32 failover;
	__u32 failover_ifindex; /* --failover-out; 0: the link */
	__u32 pad2;
	/* the pair's frames (colo_pair.h): the token they must carry */
	__u64 pair_token;
	__u64 pair_seq; /* of the last message taken: its copies are not */
};

/* Per-CPU: what the rewriter did, by field name in `colo-xdp stat`. */
struct colo_rw_stats {
	/* from the link */
	__u64 to_vm; /* redirected to the VM */
	__u64 to_host; /* addressed to the link itself: the host's */
	/* addressed to neither: the primary's mirror never sends those */
	__u64 foreign;
	__u64 acks_mapped; /* ack, SACK edges, TSecr mapped */
	/* from the VM */
	__u64 to_link;
	__u64 seqs_mapped; /* seq, TSval mapped */
	/* connections */
	__u64 learned_accepted; /* offsets learned: the VM accepted it */
	__u64 learned_opened; /* offsets learned: the VM opened it */
	/* a peer's ACK in the handshake that is not the answer to it */
	__u64 learn_refused;
	__u64 not_learned; /* segments before the offsets are known */
	/*
	 * segments of no connection (opened before the last checkpoint:
	 * offset 0), passed as they are
	 */
	__u64 untracked;
	__u64 unknown_rst_fin; /* RST or FIN of no connection */
	__u64 table_full; /* a new connection found no room: not tracked */
	__u64 closed; /* FIN both ways, or RST */
	/* bad input, passed as it is or as far as it is sound */
	__u64 malformed; /* TCP/IP headers that do not fit */
	__u64 bad_options; /* TCP options past the header: the rest kept */
	__u64 sack_wrapped; /* a SACK block whose left edge is not before */
	/* a SACK block past what the VM sent, or a window below the ACK */
	__u64 sack_outside;
	/* the pair's frames on the link (colo_pair.h) */
	__u64 pair_checkpoints; /* checkpoint done: the epoch bumped */
	__u64 pair_duplicates; /* a copy of one taken: nothing done */
	/* wrong magic, version, length, type or token: nothing done */
	__u64 pair_refused;
	/* failover */
	__u64 to_failover; /* the VM's frames out of --failover-out */
	__u64 failover_untracked; /* a connection opened since: not tracked */
};

/* What the agent's sweep removed, and the table's size it last saw. */
struct colo_rw_sweep_stats {
	__u64 sweeps;
	__u64 expired_idle; /* learned, silent for --idle-timeout */
	__u64 expired_handshake; /* half-open for --syn-timeout */
	__u64 expired_closed; /* closed for --close-timeout */
	__u64 expired_stale; /* made before the last checkpoint */
	__u64 conns; /* gauge: entries after the last sweep */
};

/* An interface's name, with its NUL (IFNAMSIZ). */
#define COLO_RW_IFNAMSIZ 16

/*
 * colo_secondary, one entry: the agent's record, as colo_loader is run's:
 * which interfaces, which process, what its sweep did. The names too: the
 * agent's network namespace may not be the reader's.
 */
struct colo_secondary {
	char vm[COLO_RW_IFNAMSIZ];
	char link[COLO_RW_IFNAMSIZ];
	__u32 vm_ifindex;
	__u32 link_ifindex;
	__u32 pid;
	__u32 max_conns;
	struct colo_rw_sweep_stats sweep;
	/* checkpoints the agent's control socket was told of */
	__u64 ctl_checkpoints;
	__u32 failover; /* 1 once failed over */
	/* 1: the agent made the VM's clsact qdisc, whoever stops removes it */
	__u32 qdisc;
};

#endif /* COLO_REWRITE_H */
