/* resnetc's version: printed by --version, written into every generated
 * file and the output folder's marker. */
#ifndef RESNETC_VERSION_H
#define RESNETC_VERSION_H

#ifndef RESNETC_VERSION
#define RESNETC_VERSION "0.1.0"
#endif

#endif
