/* skein-coordinator: placeholder until the daemon lands. */
int main(void) { return 1; }
