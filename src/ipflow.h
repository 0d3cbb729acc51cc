/*
 * ipflow.h - what the parts of the extension share
 */
#ifndef IPFLOW_H
#define IPFLOW_H

#include "fmgr.h"

/* True when the library was loaded by shared_preload_libraries. */
extern bool IpflowPreloaded;

extern void IpflowRequirePreload(const char *feature);
extern void IpflowRequireFileReader(const char *what);
extern void IpflowMaterializeResult(FunctionCallInfo fcinfo);
extern int	IpflowFeatureIndex(const char *name);

#endif
