/*
 * dhcp_cmd: `certprobe dhcp-discover`, one MS-UC-Client discovery on an interface,
 * printed like a report (dhcp_cmd.c); what DHCPUtil -EmulateClient shows, from the
 * probe's side.
 */
#ifndef CERTPROBE_DHCP_CMD_H
#define CERTPROBE_DHCP_CMD_H

/* argv[0] is "dhcp-discover". Returns the exit status (0, 2 failed, 3 usage/probe). */
int dhcp_cmd_main(int argc, char **argv);

#endif
