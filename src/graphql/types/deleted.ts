import { encodeGlobalID } from '@pothos/plugin-relay';
import type { DeletedEntity } from '../../commands/write.js';
import { builder } from '../builder.js';

export const DeletedRef = builder.objectRef<DeletedEntity>('Deleted').implement({
  description: 'What a delete removed.',
  fields: (t) => ({
    deletedId: t.id({ description: 'Global ID of the deleted entity.', resolve: (d) => encodeGlobalID(d.entity, d.id) }),
  }),
});
