#pragma once
// One function per `loopwise` subcommand; argv starts after the subcommand's name.

namespace loopwise {

int EvalCommand(int argc, char** argv);

}  // namespace loopwise
