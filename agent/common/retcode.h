/* The agent's one return-code vocabulary: IOCA_OK and IOCA_ERROR (from the
 * plugin ABI), plus IOCA_AGAIN for "nothing available now" inside the core. */
#ifndef IOCA_RETCODE_H
#define IOCA_RETCODE_H

#include "iocagent/plugin.h"

#define IOCA_AGAIN (-2)

#endif
