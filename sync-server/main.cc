#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
  std::puts("loopwise");
  return 0;
}
