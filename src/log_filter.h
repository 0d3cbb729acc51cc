/*
 * log_filter.h - keeps ipflow's secrets out of the server log
 */
#ifndef IPFLOW_LOG_FILTER_H
#define IPFLOW_LOG_FILTER_H

extern void LogFilterInstall(void);

#endif
