/* status_cmd: `certprobe status`, which reads certprobed's state file (status_cmd.c). */
#ifndef CERTPROBE_STATUS_CMD_H
#define CERTPROBE_STATUS_CMD_H

/* argv[0] is "status". Returns the exit status. */
int status_command(int argc, char **argv);

#endif
