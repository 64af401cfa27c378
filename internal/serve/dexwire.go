package serve

import (
	"encoding/base64"
	"errors"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

// dexPair decodes the values Dex v2.45.1 hands out as base64url (unpadded)
// protobuf messages of two strings, fields 1 and 2: refresh tokens
// (refresh_id, token) and the subjects of its ID tokens (user_id,
// conn_id). It decodes them as Dex's generated code does, so that what the
// serve layer checks is what Dex will read.
type dexPair struct {
	desc protoreflect.MessageDescriptor
}

func newDexPair() (*dexPair, error) {
	str := descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum()
	optional := descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum()
	fd, err := protodesc.NewFile(&descriptorpb.FileDescriptorProto{
		Name:    proto.String("dexspectro/pair.proto"),
		Package: proto.String("dexspectro"),
		Syntax:  proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{{
			Name: proto.String("Pair"),
			Field: []*descriptorpb.FieldDescriptorProto{
				{Name: proto.String("first"), JsonName: proto.String("first"), Number: proto.Int32(1), Type: str, Label: optional},
				{Name: proto.String("second"), JsonName: proto.String("second"), Number: proto.Int32(2), Type: str, Label: optional},
			},
		}},
	}, new(protoregistry.Files))
	if err != nil {
		return nil, err
	}
	desc := fd.Messages().ByName("Pair")
	if desc == nil {
		return nil, errors.New("no Pair message")
	}
	return &dexPair{desc: desc}, nil
}

// decode returns the two fields of raw.
func (p *dexPair) decode(raw string) (first, second string, err error) {
	data, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil {
		return "", "", errors.New("not Dex's encoding: not base64url")
	}
	msg := dynamicpb.NewMessage(p.desc)
	if err := proto.Unmarshal(data, msg); err != nil {
		return "", "", errors.New("not Dex's encoding: not its protobuf message")
	}
	fields := p.desc.Fields()
	return msg.Get(fields.ByNumber(1)).String(), msg.Get(fields.ByNumber(2)).String(), nil
}
