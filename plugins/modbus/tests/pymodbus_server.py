"""A Modbus TCP device served by pymodbus (Debian python3-pymodbus), an
implementation independent of the libmodbus the plugin is built on.

usage: pymodbus_server.py PORT
Unit 1 holds: holding 0 = 235, holding 1-2 = 21.5 as float32 (high word
first), input 0 = -5 (s16), coil 0 = 1. Addresses beyond these answer with
exception 2 (illegal data address); other unit ids get no answer.
"""

import struct
import sys

from pymodbus.datastore import (ModbusSequentialDataBlock, ModbusServerContext,
                                ModbusSlaveContext)
from pymodbus.server import StartTcpServer


def main():
    high, low = struct.unpack(">HH", struct.pack(">f", 21.5))
    unit1 = ModbusSlaveContext(hr=ModbusSequentialDataBlock(0, [235, high, low]),
                               ir=ModbusSequentialDataBlock(0, [65536 - 5]),
                               co=ModbusSequentialDataBlock(0, [1]),
                               di=ModbusSequentialDataBlock(0, [0]),
                               zero_mode=True)
    context = ModbusServerContext(slaves={1: unit1}, single=False)
    StartTcpServer(context=context, address=("127.0.0.1", int(sys.argv[1])))


if __name__ == "__main__":
    main()
