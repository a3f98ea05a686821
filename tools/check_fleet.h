/* check_fleet.h - devprov-check waiting|approve (tools/check_fleet.c). */
#ifndef CHECK_FLEET_H
#define CHECK_FLEET_H

/* argv[1] is "waiting" or "approve": run it; the exit status. */
int check_fleet_main(int argc, char **argv);

#endif
