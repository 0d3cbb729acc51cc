/*
 * launcher.h - the static background worker that runs ipflow's other workers
 */
#ifndef IPFLOW_LAUNCHER_H
#define IPFLOW_LAUNCHER_H

#include "postgres.h"

extern void LauncherRegister(void);
extern PGDLLEXPORT void IpflowLauncherMain(Datum arg);

#endif
