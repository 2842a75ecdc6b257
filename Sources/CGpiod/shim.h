/* libgpiod, whichever major version pkg-config finds. Only CGpioLine includes it: Swift code
   uses CGpioLine's one API over v1 and v2. */
#include <gpiod.h>
