// NEST headers included by every generated translation unit; precompiled once.
// (nest_impl.h itself has no include guard, so its own includes are listed.)
#include "nest.h"
#include "connector_model_impl.h"
#include "genericmodel_impl.h"
#include "kernel_manager.h"
#include "model_manager_impl.h"
#include "archiving_node.h"
#include "connection.h"
#include "universal_data_logger_impl.h"
