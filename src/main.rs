//! The `ecs-operator` command line.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use ecs_operator::{crdgen, render};

/// Kubernetes operator for Amazon ECS task definitions, services and autoscaling.
#[derive(Parser)]
#[command(name = "ecs-operator", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the CustomResourceDefinitions as YAML (or write one file per kind with --output-dir).
    Crds {
        /// Write ecstaskdefinitions.yaml, ecsservices.yaml and ecsscalingpolicies.yaml here instead.
        #[arg(long, value_name = "DIR")]
        output_dir: Option<PathBuf>,
    },
    /// Validate custom resources and print the AWS requests they translate to, one JSON per line.
    /// Offline: needs no cluster and no AWS.
    Render {
        /// A YAML/JSON file (multi-document) or a folder of them.
        #[arg(short = 'f', long = "filename", value_name = "PATH")]
        path: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Crds { output_dir } => crds(output_dir),
        Command::Render { path } => render_command(&path),
    }
}

fn crds(output_dir: Option<PathBuf>) -> ExitCode {
    let mut documents = Vec::new();
    for (file, crd) in crdgen::all() {
        match crdgen::to_yaml(&crd) {
            Ok(yaml) => documents.push((file, yaml)),
            Err(e) => {
                eprintln!("error: cannot serialise the CRD {file}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    match output_dir {
        Some(dir) => {
            for (file, yaml) in documents {
                let path = dir.join(file);
                if let Err(e) = std::fs::write(&path, yaml) {
                    eprintln!("error: cannot write {}: {e}", path.display());
                    return ExitCode::FAILURE;
                }
            }
        }
        None => {
            let all: Vec<String> = documents.into_iter().map(|(_, yaml)| yaml).collect();
            print!("{}", all.join("---\n"));
        }
    }
    ExitCode::SUCCESS
}

fn render_command(path: &std::path::Path) -> ExitCode {
    let (objects, mut notes) = match render::load(path) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let rendered = render::render(&objects);
    notes.extend(rendered.notes);
    for note in &notes {
        eprintln!("note: {note}");
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for request in &rendered.requests {
        if writeln!(out, "{}", request.to_json()).is_err() {
            return ExitCode::FAILURE;
        }
    }
    for warning in &rendered.warnings {
        eprintln!("warning: {warning}");
    }
    for error in &rendered.errors {
        eprintln!("error: {error}");
    }
    if rendered.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
