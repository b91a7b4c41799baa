/* SPDX-License-Identifier: MIT */
/* The subcommands of the maquina command, one file each. */
#ifndef MQ_CLI_COMMANDS_H
#define MQ_CLI_COMMANDS_H

/* Each returns the process exit status. argv[0] is the subcommand name. */
int mq_cmd_run(int argc, char **argv);
int mq_cmd_create(int argc, char **argv);
int mq_cmd_info(int argc, char **argv);
int mq_cmd_config(int argc, char **argv);
int mq_cmd_clone(int argc, char **argv);
int mq_cmd_snapshot(int argc, char **argv);
int mq_cmd_export(int argc, char **argv);
int mq_cmd_import(int argc, char **argv);
int mq_cmd_img(int argc, char **argv);
int mq_cmd_start(int argc, char **argv);
int mq_cmd_list(int argc, char **argv);
int mq_cmd_stop(int argc, char **argv);
int mq_cmd_pause(int argc, char **argv);
int mq_cmd_resume(int argc, char **argv);
int mq_cmd_status(int argc, char **argv);
int mq_cmd_stats(int argc, char **argv);
int mq_cmd_console(int argc, char **argv);
int mq_cmd_net(int argc, char **argv);

#endif
