/* commands.h — the subcommands of the t2rec binary. Each returns the process exit status:
 * 0 success, 1 runtime failure, 2 bad input (usage, config, data file, output path). */
#ifndef COMMANDS_H
#define COMMANDS_H

int cmd_gen(int argc, char **argv);
int cmd_intdim(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_slurm(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_keys(int argc, char **argv);
int cmd_prune(int argc, char **argv);

#endif
