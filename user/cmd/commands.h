/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The subcommands of colo-xdp; each returns the process exit status. */
#ifndef COLO_COMMANDS_H
#define COLO_COMMANDS_H

int cmd_chardev(int argc, char **argv);
int cmd_ctl(int argc, char **argv);
int cmd_keep(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_secondary(int argc, char **argv);
int cmd_stat(int argc, char **argv);

#endif /* COLO_COMMANDS_H */
