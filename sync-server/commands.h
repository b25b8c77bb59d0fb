#pragma once
// One function per `loopwise` subcommand; argv starts after the subcommand's name.

namespace loopwise {

int EvalCommand(int argc, char** argv);
int ServeCommand(int argc, char** argv);
int SiteCommand(int argc, char** argv);
int ImportCommand(int argc, char** argv);
int PublishCommand(int argc, char** argv);
int TrainCommand(int argc, char** argv);
int SimulateCommand(int argc, char** argv);
int BackupCommand(int argc, char** argv);

}  // namespace loopwise
