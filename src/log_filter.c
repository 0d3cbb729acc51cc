/*
 * log_filter.c - keeps ipflow's secrets out of the server log
 *
 * On a reload the postmaster logs every changed setting with its new value
 * (parameter "x" changed to "v"), passwords included.  An emit_log_hook,
 * installed in the postmaster because ipflow is preloaded (and inherited
 * by every process it starts), rewrites that message for the secret
 * settings so that it names the setting but not its value.
 */
#include "postgres.h"

#include "log_filter.h"

static emit_log_hook_type prev_emit_log_hook = NULL;

static const char *const secret_settings[] = {
	"ipflow.redis_password",
	"ipflow.kafka_sasl_password",
};

static void
HideSecrets(ErrorData *edata)
{
	size_t		i;

	if (edata->message_id && edata->message &&
		strcmp(edata->message_id, "parameter \"%s\" changed to \"%s\"") == 0)
	{
		for (i = 0; i < lengthof(secret_settings); i++)
		{
			char	   *quoted = psprintf("\"%s\"", secret_settings[i]);

			if (strstr(edata->message, quoted) != NULL)
				edata->message = psprintf("parameter %s changed (value hidden)", quoted);
			pfree(quoted);
		}
	}
	if (prev_emit_log_hook)
		prev_emit_log_hook(edata);
}

void
LogFilterInstall(void)
{
	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = HideSecrets;
}
