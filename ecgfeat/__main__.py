from .cli import app

if __name__ == "__main__":   # a worker process started by multiprocessing imports this module again
    app(prog_name="ecgfeat")
