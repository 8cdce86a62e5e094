/* Prints the name of the kernel set OpenBLAS chose (OPENBLAS_CORETYPE forces one), for
   Tests/Scripts/coretypes.sh: the name comes back unchanged exactly when this OpenBLAS ships that
   core type. */
#include <stdio.h>

char *openblas_get_corename(void);

int main(void) {
    puts(openblas_get_corename());
    return 0;
}
